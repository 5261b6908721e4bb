"""Care texts (issue 20, seed 002 关怀话术): placeholders checked and filled in safely, versions,
the built-in texts in force until a manager writes one, the dealer's over the group's, the
daily job sending the texts in force, and the call scripts of a task."""

from datetime import date

import pytest
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.care.models import CareTask
from app.care.schedule import ReminderKind, run_daily
from app.care.texts import services
from app.care.texts.defaults import builtin
from app.care.texts.kinds import PLACEHOLDERS, REMINDER_KINDS, TASK_SCRIPTS, TextKind
from app.care.texts.models import TextVersion
from app.care.texts.placeholders import Malformed, check_text, parse, render
from app.core.audit import AuditEntry
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Notification
from tests.care.helpers import make_car, make_owner
from tests.conftest import NOW
from tests.factories import make_dealer, make_staff

K = TextKind


@pytest.fixture
def shop(ctx):
    """SZ01 and GZ01, their admins, a care agent of SZ01 and HQ."""
    sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
    return {
        "sz": sz,
        "gz": gz,
        "admin": make_staff("dealer_admin", sz.id),
        "gz_admin": make_staff("dealer_admin", gz.id),
        "agent": make_staff("care_agent", sz.id),
        "hq": make_staff("hq_admin", None),
    }


def _save(actor, dealer_id, kind=K.BIRTHDAY, language="zh", *, base=0, **words):
    words = {"title": "生日快乐，{name}！", "body": "{dealer}祝您生日快乐。", **words}
    return services.save_text(actor, dealer_id, kind, language, **words, base_version=base, now=NOW)


# ---------------------------------------------------------------------------- placeholders


def test_a_text_reads_as_pieces_with_doubled_braces_as_braces():
    assert parse("Hi {name}, {{not}} {car}!") == (
        ("Hi ", False),
        ("name", True),
        (", {not} ", False),
        ("car", True),
        ("!", False),
    )
    assert render("{{{name}}}", {"name": "Li"}) == "{Li}"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Hi {name", "{name"),
        ("Hi name}", "Hi name}"),
        ("Hi {na{me}", "{na{me}"),
        ("{0}", "{0}"),
        ("{name.__class__}", "{name.__class__}"),
        ("{name!r}", "{name!r}"),
        ("{name:>10}", "{name:>10}"),
        ("{ name }", "{ name }"),
        ("{}", "{}"),
        ("{Name}", "{Name}"),
    ],
)
def test_a_brace_that_is_no_placeholder_is_refused_naming_it(ctx, text, fragment):
    with pytest.raises(ValidationFailed) as refused:
        check_text(text, ("name",), field="body")
    assert refused.value.field == "body"
    assert f"“{fragment}” is not a placeholder" in refused.value.message


def test_an_unknown_placeholder_is_refused_naming_it_and_the_allowed_ones(ctx):
    with pytest.raises(ValidationFailed) as refused:
        check_text("Hello {name}, your {plate}", PLACEHOLDERS[K.BIRTHDAY], field="title")
    assert refused.value.message == (
        "Unknown placeholder {plate}: this text may use {name}, {dealer}."
    )


def test_values_go_in_as_text_never_read_again():
    hostile = "{dealer} {0.__class__} %(x)s {{ }}"
    assert render("Dear {name} of {dealer}", {"name": hostile, "dealer": "SZ"}) == (
        f"Dear {hostile} of SZ"
    )


@given(st.text(max_size=60))
def test_any_text_is_either_refused_or_rendered_without_error(text):
    try:
        names = [piece for piece, is_name in parse(text) if is_name]
    except Malformed:
        return
    values = {name: f"<{name}>" for name in names}
    rendered = render(text, values)
    assert all(f"<{name}>" in rendered for name in names)


def test_a_broken_built_in_text_is_sent_as_it_is_rather_than_stop_the_job():
    assert render("50% off {", {"name": "x"}) == "50% off {"


# -------------------------------------------------------------------------------- defaults


@pytest.mark.parametrize("kind", list(TextKind))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_built_in_text_is_a_valid_template_of_its_kind(ctx, kind, language):
    title, body = builtin(kind, language)
    assert body
    services.check_words(kind, title, body)


def test_every_reminder_of_the_daily_job_is_a_text_kind():
    assert {str(k) for k in ReminderKind} == {str(k) for k in REMINDER_KINDS}


def test_every_task_kind_of_the_daily_job_has_scripts():
    assert {"first_maintenance", "maintenance_due", "warranty_expiry", "birthday"} <= set(
        TASK_SCRIPTS
    )


def test_the_built_in_reminder_template_renders_as_the_message_it_replaces(ctx):
    sz = make_dealer("SZ01")
    owner = make_owner(sz.id, name="Liu", marketing_opt_in=True)
    owner.user.locale = "en"
    make_car(owner, purchased_on=date(2025, 11, 5), delivered_on=date(2025, 11, 8))
    db.session.commit()
    run_daily()  # 2026-11-23: the car's first anniversary month
    sent = db.session.scalar(select(Notification).where(Notification.kind == "anniversary"))
    title, body = builtin(K.ANNIVERSARY, "en")
    assert title == "{years} years with your {car}"
    values = {"years": 1, "car": sent.title.split("your ", 1)[1], "times": "2"}
    # Only the plural differs: the template is written for any number of years.
    assert render(body, values) == sent.body


# -------------------------------------------------------------------------------- versions


def test_nothing_is_stored_until_a_manager_saves_and_the_built_in_text_is_in_force(shop):
    text = services.text_in_force(shop["sz"].id, K.BIRTHDAY, "en")
    assert (text.source, text.version) == ("builtin", 0)
    assert text.title == "Happy birthday, {name}!"
    assert db.session.scalar(select(func.count(TextVersion.id))) == 0


def test_each_save_is_a_new_version_the_newest_in_force_and_audited(shop):
    admin, sz = shop["admin"], shop["sz"].id
    first = _save(admin, sz)
    second = _save(admin, sz, base=1, body="{dealer}全体同仁祝您生日快乐！")
    assert (first.version, second.version) == (1, 2)
    text = services.text_in_force(sz, K.BIRTHDAY, "zh")
    assert (text.source, text.version, text.body) == ("dealer", 2, "{dealer}全体同仁祝您生日快乐！")
    audits = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "care.text_saved").order_by(AuditEntry.id)
    ).all()
    assert [(a.actor_id, a.dealer_id, a.details["version"]) for a in audits] == [
        (admin.id, sz, 1),
        (admin.id, sz, 2),
    ]
    assert [v.version for v in db.session.scalars(services.history(sz, K.BIRTHDAY, "zh"))] == [
        2,
        1,
    ]


def test_a_double_submit_saves_one_version(shop):
    admin, sz = shop["admin"], shop["sz"].id
    assert _save(admin, sz) is not None
    assert _save(admin, sz) is None  # the same words, edited from version 0 too
    assert services.own_version(sz, K.BIRTHDAY, "zh") == 1


def test_a_save_over_a_newer_version_is_refused(shop):
    admin, sz = shop["admin"], shop["sz"].id
    _save(admin, sz, body="First manager's words")
    with pytest.raises(Conflict, match="newer version"):
        _save(admin, sz, body="Second manager's words")  # edited from version 0 as well
    assert services.text_in_force(sz, K.BIRTHDAY, "zh").body == "First manager's words"


def test_saving_the_text_in_force_saves_nothing(shop):
    title, body = builtin(K.BIRTHDAY, "en")
    assert _save(shop["admin"], shop["sz"].id, language="en", title=title, body=body) is None


@pytest.mark.parametrize(
    ("words", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "a\nb"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 2001}, "body"),
        ({"body": "Dear {name}, your {plate}"}, "body"),
        ({"title": "Hi {name"}, "title"),
    ],
)
def test_refused_words_save_nothing(shop, words, field):
    with pytest.raises(ValidationFailed) as refused:
        _save(shop["admin"], shop["sz"].id, **words)
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(TextVersion.id))) == 0


def test_a_script_has_no_title_and_room_for_a_longer_text(shop):
    version = _save(
        shop["admin"], shop["sz"].id, K.LOST_OWNER_SCRIPT, title="ignored", body="x {agent}" * 300
    )
    assert version.title == ""


def test_the_dealers_text_over_the_groups_over_the_built_in(shop):
    sz, gz = shop["sz"].id, shop["gz"].id
    _save(shop["hq"], None, body="Group words")
    assert services.text_in_force(sz, K.BIRTHDAY, "zh").source == "group"
    _save(shop["admin"], sz, body="SZ01 words")
    assert services.text_in_force(sz, K.BIRTHDAY, "zh").body == "SZ01 words"
    assert services.text_in_force(gz, K.BIRTHDAY, "zh").body == "Group words"
    assert services.sources_in_force(sz)[("birthday", "zh")] == ("dealer", 1)
    assert services.sources_in_force(gz)[("birthday", "zh")] == ("group", 1)
    assert services.sources_in_force(gz)[("birthday", "en")] == ("builtin", 0)


def test_handing_back_follows_the_group_again_and_restoring_brings_old_words_back(shop):
    admin, sz = shop["admin"], shop["sz"].id
    _save(shop["hq"], None, body="Group words")
    _save(admin, sz, body="Old SZ01 words")
    _save(admin, sz, base=1, body="New SZ01 words")
    handed = services.inherit_text(admin, sz, K.BIRTHDAY, "zh", now=NOW)
    assert (handed.version, handed.inherits) == (3, True)
    assert services.text_in_force(sz, K.BIRTHDAY, "zh").body == "Group words"
    assert services.inherit_text(admin, sz, K.BIRTHDAY, "zh", now=NOW) is None  # once
    old = db.session.scalar(
        select(TextVersion).where(TextVersion.version == 1, TextVersion.dealer_id == sz)
    )
    restored = services.restore_version(admin, old.id, now=NOW)
    assert restored.version == 4
    assert services.text_in_force(sz, K.BIRTHDAY, "zh").body == "Old SZ01 words"
    # The group's handed back: the built-in text.
    services.inherit_text(shop["hq"], None, K.BIRTHDAY, "zh", now=NOW)
    assert services.text_in_force(shop["gz"].id, K.BIRTHDAY, "zh").source == "builtin"


def test_only_the_dealers_care_manager_or_hq_changes_the_texts(shop):
    sz = shop["sz"].id
    for actor, dealer_id in ((shop["agent"], sz), (shop["gz_admin"], sz), (shop["admin"], None)):
        with pytest.raises(Forbidden):
            _save(actor, dealer_id)
    assert _save(shop["hq"], sz) is not None  # HQ may write a dealer's text too
    version = db.session.scalar(select(TextVersion))
    with pytest.raises(NotFound):
        services.get_version(shop["gz_admin"], version.id)
    with pytest.raises(NotFound):
        services.restore_version(shop["gz_admin"], version.id)


def test_a_preview_fills_the_placeholders_in_with_a_made_up_owner(shop):
    title, body = services.preview(
        K.MAINTENANCE_DUE,
        "zh",
        "{name}，您的{car}该保养了",
        "请在{due_date}前预约，{dealer}",
        dealer_name="深圳店",
    )
    assert title == "王小明，您的Sagitar 粤B12345该保养了"
    assert body == "请在2026年12月7日前预约，深圳店"
    with pytest.raises(ValidationFailed, match=r"Unknown placeholder \{points\}"):
        services.preview(K.MAINTENANCE_DUE, "en", "{points}", "x", dealer_name="")


# ------------------------------------------------------------------------------ the daily job


def test_the_daily_job_sends_the_text_the_owners_dealer_wrote(shop):
    sz, gz = shop["sz"], shop["gz"]
    ours = make_owner(sz.id, name="{dealer} Chen", birthday=date(1990, 11, 23))
    theirs = make_owner(gz.id, name="Zhou", birthday=date(1990, 11, 23))
    english = make_owner(sz.id, name="Liu", birthday=date(1990, 11, 23))
    english.user.locale = "en"
    _save(shop["admin"], sz.id, title="生日快乐，{name}！", body="{dealer}的祝福")
    db.session.commit()

    run_daily()

    inbox = {n.member_id: (n.title, n.body) for n in db.session.scalars(select(Notification))}
    # An owner's name with braces is written as it is.
    assert inbox[ours.id] == ("生日快乐，{dealer} Chen！", f"{sz.name}的祝福")
    # Another dealer, and another language: the built-in text.
    assert inbox[theirs.id][0] == "Zhou，生日快乐！"
    assert inbox[english.id][0] == "Happy birthday, Liu!"


def test_a_text_of_a_car_reminder_gets_the_cars_facts(shop):
    owner = make_owner(shop["sz"].id, name="Wu")
    make_car(owner, purchased_on=date(2025, 1, 5), insurance_expires_on=date(2026, 12, 7))
    _save(
        shop["hq"],
        None,
        K.INSURANCE_EXPIRY,
        title="{model} {plate}: {due_date}",
        body="{name}, {car}, {dealer}",
    )
    db.session.commit()
    run_daily()
    message = db.session.scalar(select(Notification))
    plate = owner.vehicles[0].plate
    assert message.title == f"Sagitar {plate}: 2026年12月7日"
    assert message.body == f"Wu, Sagitar {plate}, {shop['sz'].name}"


def test_the_call_task_shows_its_scripts_in_the_owners_language(shop):
    owner = make_owner(shop["sz"].id, name="Ma Lin")
    owner.user.locale = "en"
    make_car(owner, purchased_on=date(2026, 9, 20), delivered_on=date(2026, 9, 24))
    _save(
        shop["admin"],
        shop["sz"].id,
        K.FIRST_MAINTENANCE_SCRIPT,
        "en",
        title="",
        body="Hello {name}, {agent} of {dealer} about your {model}.",
    )
    db.session.commit()
    run_daily()
    task = db.session.scalar(select(CareTask))
    scripts = services.task_scripts(task, owner, owner.vehicles[0], shop["agent"])
    with force_locale("en"):
        assert [str(s.label) for s in scripts] == [
            "First-maintenance call script",
            "Proactive appointment script",
        ]
    assert (
        scripts[0].text
        == f"Hello Ma Lin, Staff care_agent of {shop['sz'].name} about your Sagitar."
    )
    assert "Sagitar" in scripts[1].text
