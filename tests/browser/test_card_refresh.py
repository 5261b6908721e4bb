"""Without WebCrypto (an old browser, or plain HTTP on a real phone) the card page falls back to
the server's tokens: it swaps in a fresh QR by itself, and says so when the phone is offline.
With WebCrypto it draws its own codes (tests/browser/test_offline_card.py)."""

from playwright.sync_api import expect

from tests.browser.test_journey import register_owner


def test_the_card_page_fetches_a_fresh_qr_and_warns_when_offline(
    new_phone, live_server, monkeypatch
):
    # The server shows one token for CARD_TOKEN_REUSE_SECONDS; this phone must not wait for it.
    monkeypatch.setitem(live_server.app.config, "CARD_TOKEN_REUSE_SECONDS", 0)
    page = new_phone()
    page.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined})"
    )
    register_owner(page, "Refresh Owner", "13700006666")
    page.goto("/card")
    first = page.inner_html("#qr")
    # Coming back online (like returning to the tab) makes the page fetch a new token.
    with page.expect_response("**/card/token") as response:
        page.evaluate("window.dispatchEvent(new Event('online'))")
    assert response.value.ok
    expect(page.locator("#qr svg")).to_have_count(1)
    page.wait_for_function("first => document.getElementById('qr').innerHTML !== first", arg=first)
    expect(page.locator("#qr-offline")).to_be_hidden()

    page.context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    expect(page.locator("#qr-offline")).to_be_visible()
    page.context.set_offline(False)


def test_without_javascript_the_card_shows_the_servers_qr(
    browser, new_phone, live_server, artifacts
):
    from app.auth.models import User
    from app.cards.services import check_card
    from app.extensions import db
    from tests.browser.conftest import PHONE
    from tests.browser.test_journey import card_qr

    page = new_phone()
    register_owner(page, "Script Free", "13700007777")
    context = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=False,
        storage_state=page.context.storage_state(),
        **PHONE,
    )
    try:
        plain = context.new_page()
        plain.goto("/card")
        token = card_qr(plain, artifacts / "card-no-script.png")
    finally:
        context.close()
    app = live_server.app
    with app.app_context(), app.test_request_context():
        staff = db.session.scalar(db.select(User).filter_by(mobile=live_server.staff_mobile))
        assert check_card(staff, token).member.name == "Script Free"
