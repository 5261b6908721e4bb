"""The managed model list: how names compare, which family a name belongs to, and saving a
model (on SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.members.car_models import (
    ModelFamilies,
    all_car_models,
    car_model_names,
    clean_name,
    model_family,
    model_key,
    save_car_model,
)
from app.members.models import CarModel
from tests.factories import car_model, make_staff


@pytest.fixture
def books(db_app):
    """An app context on SQLite, then on PostgreSQL."""
    with db_app.app_context(), db_app.test_request_context():
        yield db.session


@pytest.fixture
def hq(books):
    return make_staff("hq_admin", None)


def _count() -> int:
    return db.session.scalar(select(func.count(CarModel.id)))


def _audit() -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == "car_model.saved")
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "spelling",
    [
        "Golf R",
        "golf r",
        "Golf-R",
        " golf   r ",
        "GOLF–R",
        "ＧＯＬＦ Ｒ",
        "新Golf R",
        "全新 Golf R",
    ],
)
def test_spellings_of_one_model_give_one_key(spelling):
    assert model_key(spelling) == "golf r"


def test_chinese_new_prefixes_name_the_same_model():
    assert model_key("新君威") == model_key("君威") == model_key("全新君威") == "君威"
    assert model_key("新") == "新"  # a name that is only the prefix stays itself


def test_invisible_characters_are_dropped_from_a_name():
    assert clean_name(" Golf\u200b\u00a0 Sports\u202evan\ufeff ") == "Golf Sportsvan"
    assert model_key("Golf\u200b R") == "golf r"
    assert clean_name("\u200b\u202e\u2066") == ""
    assert model_key("\u200b") == ""


# ------------------------------------------------------------------------- families


def _listed(*rows: tuple[str, str]) -> list[CarModel]:
    return [CarModel(name=name, family=family, active=True) for name, family in rows]


def test_a_listed_model_belongs_to_the_family_the_list_gives():
    families = ModelFamilies(_listed(("Golf GTI", "Golf"), ("Lamando", "Lavida")))
    assert families.of("Golf GTI") == families.of("golf-gti") == "golf"
    assert families.of("Lamando") == families.of("新Lamando") == "lavida"


def test_an_unlisted_name_takes_the_family_of_the_longest_listed_model_it_starts_with():
    families = ModelFamilies(_listed(("Lamando", "Lavida"), ("Lamando GTS", "Sport")))
    assert families.of("Lamando Pro") == "lavida"
    assert families.of("Lamando GTS 2026") == "sport"
    assert families.of("LamandoX") == "lamandox"  # a whole word, not any prefix


def test_without_the_list_a_family_is_the_first_word():
    assert model_family("Golf GTI") == model_family(" golf ") == model_family("Golf-R") == "golf"
    assert model_family("Tiguan L") == model_family("Tiguan") == "tiguan"
    assert model_family("新君威") == model_family("君威") != model_family("君越")
    assert model_family("\u200b") == ""


def test_the_migration_installs_the_models_the_callback_knew_in_their_families(books):
    listed = all_car_models()
    assert {m.name for m in listed} >= {
        "Jetta",
        "Sagitar",
        "Golf",
        "Golf GTI",
        "Golf R",
        "Magotan",
        "Lavida",
        "Bora",
        "Passat",
        "Tiguan L",
        "Polo",
    }
    # The migration wrote each key as model_key folds the name.
    assert all(m.key == model_key(m.name) for m in listed)
    families = ModelFamilies(listed)
    assert families.of("Golf GTI") == families.of("Golf R") == families.of("Golf") == "golf"
    assert families.of("Tiguan L") == families.of("Tiguan") == "tiguan"
    assert families.of("Lamando") != families.of("Lavida")
    assert all(m.active for m in listed)


# --------------------------------------------------------------------------- saving


def test_hq_adds_a_model_and_the_change_is_audited(books, hq):
    before = _count()
    saved = save_car_model(hq, None, name="  Lavida\u200b Plus ", family="Lavida", active=True)
    assert (saved.name, saved.key, saved.family) == ("Lavida Plus", "lavida plus", "Lavida")
    assert saved.created_at is not None and saved.updated_at == saved.created_at
    assert _count() == before + 1
    assert "Lavida Plus" in car_model_names()
    (entry,) = _audit()
    assert entry.actor_id == hq.id and entry.subject_id == saved.id
    assert entry.details == {
        "before": None,
        "after": {"name": "Lavida Plus", "family": "Lavida", "active": True},
    }


def test_hq_moves_a_model_to_another_family(books, hq):
    lamando = car_model("Lamando")
    save_car_model(hq, lamando, name="Lamando", family="Lavida", active=True)
    assert model_family("Lamando", all_car_models()) == model_family("Lavida", all_car_models())
    (entry,) = _audit()
    assert entry.details["before"]["family"] == "Lamando"
    assert entry.details["after"]["family"] == "Lavida"


def test_a_retired_model_is_no_longer_offered_but_keeps_its_family(books, hq):
    save_car_model(hq, car_model("Golf R"), name="Golf R", family="Golf", active=False)
    assert "Golf R" not in car_model_names()
    assert "Golf" in car_model_names()
    assert model_family("Golf R", all_car_models()) == "golf"


@pytest.mark.parametrize(
    "name", ["golf gti", "GOLF-GTI", "新Golf GTI", "Golf\u200b GTI", "ＧＯＬＦ ＧＴＩ"]
)
def test_a_second_spelling_of_a_listed_model_is_refused(books, hq, name):
    before = _count()
    with pytest.raises(Conflict) as refused:
        save_car_model(hq, None, name=name, family="Golf", active=True)
    assert refused.value.field == "name"
    assert "Golf GTI" in str(refused.value.message)
    db.session.rollback()
    assert _count() == before
    assert _audit() == []


def test_renaming_a_model_to_another_models_name_is_refused(books, hq):
    with pytest.raises(Conflict):
        save_car_model(hq, car_model("Golf R"), name="Golf", family="Golf", active=True)
    db.session.rollback()
    assert car_model("Golf R").family == "Golf"


def test_a_model_keeps_its_own_name_in_another_spelling(books, hq):
    saved = save_car_model(hq, car_model("Golf R"), name="Golf-R", family="Golf", active=True)
    assert (saved.name, saved.key) == ("Golf-R", "golf r")


@pytest.mark.parametrize(
    ("name", "family", "field"),
    [
        ("\u200b\u200b", "Golf", "name"),
        ("\u202e", "Golf", "name"),
        (" \u200d \u200c ", "Golf", "name"),
        ("", "Golf", "name"),
        ("Golf Sportsvan", "\ufeff", "family"),
        ("Golf Sportsvan", "   ", "family"),
        ("G" * 65, "Golf", "name"),
        ("Golf Sportsvan", "G" * 65, "family"),
        # NFKC spells U+FDFA as 18 letters: the key would outgrow its column.
        ("\ufdfa" * 64, "Golf", "name"),
    ],
)
def test_a_name_or_family_that_shows_nothing_or_is_too_long_is_refused(
    books, hq, name, family, field
):
    before = _count()
    with pytest.raises(ValidationFailed) as refused:
        save_car_model(hq, None, name=name, family=family, active=True)
    assert refused.value.field == field
    db.session.rollback()
    assert _count() == before
    assert _audit() == []
