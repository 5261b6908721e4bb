"""The care texts' pages: who reads and who edits which dealer's texts, the preview, refused
words shown next to their field, versions, and the scripts on an agent's call page."""

import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select

from app.care.models import CareTask
from app.care.schedule import run_daily
from app.care.texts.models import TextVersion
from app.extensions import db
from tests.care.helpers import make_car, make_owner

BASE = "/admin/care/texts"


def _body(response) -> str:
    return unescape(response.get_data(as_text=True))


def _versions(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(
            select(TextVersion.dealer_id, TextVersion.kind, TextVersion.version).order_by(
                TextVersion.id
            )
        ).all()


def _save(client, path=f"{BASE}/birthday/en", base="0", **words):
    data = {"title": "Happy day, {name}!", "body": "From {dealer}.", "base_version": base}
    return client.post(path, data={**data, **words, "action": "save"})


@pytest.fixture
def admin(staff_factory):
    return staff_factory("dealer_admin", "SZ01")


def test_the_list_says_where_each_text_comes_from(admin):
    html = _body(admin.get(BASE))
    assert "Care texts" in html
    assert "First-maintenance call script" in html and "Special weather warning" in html
    assert html.count('class="source source-builtin"') == 32  # 16 kinds, two languages
    _save(admin)
    assert "own v1" in _body(admin.get(BASE))


def test_a_manager_edits_previews_and_saves_a_text(app, admin, dealers):
    page = _body(admin.get(f"{BASE}/birthday/en"))
    assert "the built-in text is in force" in page
    assert 'value="Happy birthday, {name}!"' in page
    assert "<strong>Happy birthday, Wang Xiaoming!</strong>" in page  # the preview
    preview = admin.post(
        f"{BASE}/birthday/en",
        data={
            "title": "Hi {name}",
            "body": "From {dealer}",
            "base_version": "0",
            "action": "preview",
        },
    )
    assert "<strong>Hi Wang Xiaoming</strong><p>From Dealer SZ01</p>" in _body(preview)
    assert _versions(app) == []  # a preview saves nothing

    response = _save(admin)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{BASE}/birthday/en"
    page = _body(admin.get(f"{BASE}/birthday/en"))
    assert "Version 1 saved: it is in force now." in page
    assert "the dealer's version 1 is in force" in page
    assert _versions(app) == [(dealers["SZ01"], "birthday", 1)]


def test_a_double_submit_saves_once(app, admin, dealers):
    assert _save(admin).status_code == 302
    again = _save(admin)  # the same form, sent twice
    assert again.status_code == 302
    assert "Nothing changed: this is the text in force." in _body(
        admin.get(again.headers["Location"])
    )
    assert _versions(app) == [(dealers["SZ01"], "birthday", 1)]


@pytest.mark.parametrize(
    ("words", "error"),
    [
        ({"title": "Hi {nme}"}, "Unknown placeholder {nme}: this text may use {name}, {dealer}."),
        ({"body": "50% {off"}, "“{off” is not a placeholder"),
        ({"body": ""}, "Enter the text."),
        ({"title": "x" * 300}, "A title has at most 200 characters."),
    ],
)
def test_refused_words_are_shown_next_to_their_field_and_nothing_is_saved(app, admin, words, error):
    response = _save(admin, **words)
    assert response.status_code == 200
    assert error in _body(response)
    assert _versions(app) == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"base_version": "x", "action": "save"},
        {"base_version": "99999999999999999999", "action": "save"},
        {"title": "a\x00b", "body": "x", "base_version": "0", "action": "save"},
        {"title": "x", "body": "y" * 100_000, "base_version": "0", "action": "save"},
    ],
)
def test_bad_input_is_never_a_server_error(app, admin, data):
    response = admin.post(f"{BASE}/birthday/zh", data=data)
    assert response.status_code in (200, 400)
    assert _versions(app) == []


def test_unknown_kinds_and_languages_are_not_found(admin):
    assert admin.get(f"{BASE}/nonsense/zh").status_code == 404
    assert admin.get(f"{BASE}/birthday/fr").status_code == 404
    assert admin.post(f"{BASE}/birthday/fr", data={}).status_code == 404
    assert admin.post(f"{BASE}/versions/99999/restore").status_code == 404


def test_a_care_agent_reads_the_texts_but_cannot_edit_them(app, staff_factory, admin):
    _save(admin, f"{BASE}/maintenance_script/zh", title="", body="{name}您好，我是{agent}。")
    agent = staff_factory("care_agent", "SZ01")
    page = _body(agent.get(f"{BASE}/maintenance_script/zh"))
    assert "Save as the next version" not in page
    assert "王小明您好，我是李娜。" in page  # the preview in Chinese with a made-up caller
    assert _save(agent, f"{BASE}/maintenance_script/zh", title="", body="x").status_code == 403
    assert agent.post(f"{BASE}/maintenance_script/zh/inherit").status_code == 403
    version_id = db_version_id(app)
    assert agent.post(f"{BASE}/versions/{version_id}/restore").status_code == 403
    assert len(_versions(app)) == 1


def db_version_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(TextVersion.id))


def test_another_dealers_admin_cannot_see_or_touch_this_dealers_texts(
    app, staff_factory, admin, dealers
):
    _save(admin, body="SZ01 secret words {dealer}")
    gz = staff_factory("dealer_admin", "GZ01")
    assert gz.get(f"{BASE}?dealer={dealers['SZ01']}").status_code == 404
    assert gz.get(f"{BASE}/birthday/en?dealer={dealers['SZ01']}").status_code == 404
    # Their own page shows their own (built-in) text and no SZ01 version.
    page = _body(gz.get(f"{BASE}/birthday/en"))
    assert "SZ01 secret words" not in page
    assert "the built-in text is in force" in page
    assert gz.post(f"{BASE}/versions/{db_version_id(app)}/restore").status_code == 404
    # A save from GZ01's admin is GZ01's, whatever the address says.
    assert _save(gz, f"{BASE}/birthday/en?dealer={dealers['SZ01']}").status_code == 404
    assert _save(gz).status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(TextVersion.id)).where(TextVersion.dealer_id == dealers["GZ01"])
            )
            == 1
        )


def test_hq_edits_the_groups_texts_and_any_dealers(app, staff_factory, dealers):
    hq = staff_factory("hq_admin", None)
    assert "The group's texts: every dealer uses them" in _body(hq.get(BASE))
    assert _save(hq).headers["Location"] == f"{BASE}/birthday/en"
    sz = dealers["SZ01"]
    saved = _save(hq, f"{BASE}/birthday/en?dealer={sz}", body="For SZ01 only, {dealer}.")
    assert saved.headers["Location"] == f"{BASE}/birthday/en?dealer={sz}"
    assert _versions(app) == [(None, "birthday", 1), (sz, "birthday", 1)]
    page = _body(hq.get(f"{BASE}/birthday/en?dealer={sz}"))
    assert "the dealer's version 1 is in force" in page
    assert "group v1" in _body(hq.get(f"{BASE}?dealer={dealers['GZ01']}"))


def test_old_versions_are_listed_and_restored(app, admin):
    _save(admin, title="First {name}")
    _save(admin, base="1", title="Second {name}")
    page = _body(admin.get(f"{BASE}/birthday/en"))
    versions = page[page.index('id="versions-title"') :]
    assert versions.index("Version 2") < versions.index("Version 1")
    with app.app_context():
        first = db.session.scalar(select(TextVersion.id).where(TextVersion.version == 1))
    response = admin.post(f"{BASE}/versions/{first}/restore")
    assert response.headers["Location"] == f"{BASE}/birthday/en"
    page = _body(admin.get(response.headers["Location"]))
    assert "Version 1 restored." in page
    assert "<strong>First Wang Xiaoming</strong>" in page
    assert "Hand it back" in page
    admin.post(f"{BASE}/birthday/en/inherit")
    assert "the built-in text is in force" in _body(admin.get(f"{BASE}/birthday/en"))


def test_the_versions_page_through(app, admin):
    for n in range(12):
        _save(admin, base=str(n), title=f"Take {n} {{name}}")
    page = _body(admin.get(f"{BASE}/birthday/en"))
    assert "Page 1 of 2" in page and "Take 11" in page
    second = _body(admin.get(f"{BASE}/birthday/en?page=2"))
    assert "Version 1</strong>" in second
    assert admin.get(f"{BASE}/birthday/en?page=99999999999").status_code == 200


def test_the_agents_call_page_shows_the_scripts_in_the_owners_language(
    app, seeded, dealers, staff_factory
):
    with seeded():
        owner = make_owner(dealers["SZ01"], name="Ma Lin")
        make_car(owner, purchased_on=date(2026, 9, 20), delivered_on=date(2026, 9, 24))
    with app.app_context(), app.test_request_context():
        run_daily()
        task_id = db.session.scalar(select(CareTask.id))
    agent = staff_factory("care_agent", "SZ01")
    page = _body(agent.get(f"/admin/care/tasks/{task_id}"))
    assert "What to say" in page
    assert "First-maintenance call script" in page
    assert re.search(r"您好，请问是Ma Lin吗？我是Dealer SZ01的Staff care_agent。", page)
