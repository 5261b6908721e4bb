"""The care text editor's form: the words, and the version they were edited from."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange


class TextForm(FlaskForm):
    """A care text: "Preview" shows it to a made-up owner, "Save" makes it the next version.
    The rules (placeholders, lengths) are the service's, so a preview says what a save would."""

    title = StringField(_l("Title"), description=_l("The inbox title and the e-mail subject."))
    body = TextAreaField(_l("Text"), render_kw={"rows": 8})
    # The version the text was edited from: a save over a newer one is refused.
    base_version = IntegerField(
        widget=HiddenField.widget,
        validators=[InputRequired(), NumberRange(min=0, max=1_000_000)],
    )

    def words(self) -> dict:
        """The title and body as the services take them."""
        title = self.title.data if "title" in self else ""
        return {"title": title or "", "body": self.body.data or ""}

    def show_error(self, err) -> None:
        """Put a refused text's reason next to its field (or above the form)."""
        field = getattr(self, err.field or "", None)
        errors = field.errors if field is not None else self.form_errors
        if err.message in errors:
            return  # a refused save has put it there already
        if field is not None:
            field.errors = [*field.errors, err.message]
        else:
            self.form_errors.append(err.message)
