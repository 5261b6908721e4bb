"""Form pieces of the loyalty domain shared by other domains' forms."""

from wtforms.fields.choices import SelectChoice

from app.loyalty.services import list_tiers, tier_label


def tier_choices(everyone_label) -> list:
    """A minimum-tier select: ``everyone_label`` (no minimum), then the tiers in rank order."""
    return [SelectChoice("", everyone_label)] + [
        SelectChoice(t.code, tier_label(t.code)) for t in list_tiers()
    ]
