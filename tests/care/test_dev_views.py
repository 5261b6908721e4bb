"""/dev/messages: what the log channels took, in development only."""

import shutil

import pytest

from app.auth.codes import SIGN_IN, send_code
from app.extensions import db
from app.members.outbox import queue_message
from tests.care.conftest import RecordingSms
from tests.care.helpers import make_owner
from tests.conftest import make_app
from tests.factories import make_dealer, next_mobile


@pytest.fixture
def dev_app(template_db, tmp_path):
    """The app as in development: the messages page is on."""
    path = tmp_path / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", DEV_MESSAGES_PAGE=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_page_does_not_exist_in_testing_or_production(client):
    assert client.get("/dev/messages").status_code == 404
    assert client.post("/dev/messages/send").status_code == 404


def test_a_sign_in_code_shows_with_the_number_and_a_banner(dev_app):
    mobile = next_mobile("139")
    with dev_app.app_context(), dev_app.test_request_context():
        send_code(mobile, SIGN_IN)
        db.session.commit()
    client = dev_app.test_client()

    response = client.get("/dev/messages")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Development only — nothing was sent." in page
    assert mobile in page and "is your sign-in code" in page
    assert "No e-mail yet." in page
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_speaks_chinese(dev_app):
    client = dev_app.test_client()
    client.get("/lang/zh")

    page = client.get("/dev/messages").get_data(as_text=True)

    assert "仅供开发使用——没有发出任何消息。" in page and "暂无短信。" in page


def test_the_outbox_sends_here_and_shows_e_mails_and_texts_newest_first(dev_app):
    with dev_app.app_context(), dev_app.test_request_context():
        owner = make_owner(make_dealer("SZ01").id, name="Zhou Min", email="zhou@example.com")
        owner.user.locale = "en"
        mobile = owner.user.mobile
        for n in (1, 2):
            queue_message(
                owner,
                "invitation",
                f"Invitation {n}",
                f"Set your password: http://localhost/account/setup/token-{n}",
                key=f"inv:{n}",
                channels=["email", "sms"],
            )
        db.session.commit()
    client = dev_app.test_client()

    response = client.post("/dev/messages/send", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "Outbox: 4 sent, 0 failed." in page
    assert page.index("Invitation 2") < page.index("Invitation 1")
    assert "zhou@example.com" in page and mobile in page
    assert '<a href="http://localhost/account/setup/token-2"' in page


def test_the_page_says_when_the_channels_are_real(dev_app):
    dev_app.extensions["sms_backend"] = RecordingSms()
    dev_app.config["SMTP_HOST"] = "127.0.0.1"

    page = dev_app.test_client().get("/dev/messages").get_data(as_text=True)

    assert "Text messages go through RecordingSms, not the log backend" in page
    assert "E-mails go through SmtpMailer (SMTP_HOST is set)" in page
