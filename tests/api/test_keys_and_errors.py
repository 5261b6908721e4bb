"""API keys (CLI, bearer auth, revocation) and the JSON error format on every /api path."""

import hashlib

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from app.api.models import ApiKey
from app.core.audit import AuditEntry
from app.core.identifiers import luhn_check_digit
from app.extensions import db
from tests.api.conftest import assert_error

UNKNOWN_CARD = "800000000000000" + luhn_check_digit("800000000000000")


def test_the_cli_prints_the_key_last_and_stores_only_its_hash(app, dealers):
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--dealer", "sz01", "--name", "Main DMS"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    key = lines[-1]
    prefix, dot, secret = key.partition(".")
    assert dot and len(secret) >= 40
    assert prefix in lines[0] and "SZ01" in lines[0]
    with app.app_context():
        row = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        assert row.dealer_id == dealers["SZ01"] and row.name == "Main DMS"
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert secret not in row.key_hash
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_key.created"))


def test_the_cli_refuses_an_unknown_dealer(app, dealers):
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--dealer", "XX99", "--name", "DMS"]
    )
    assert result.exit_code != 0
    assert "XX99" in result.output


def test_list_shows_keys_without_secrets_and_revoke_marks_them(app, api_keys):
    runner = app.test_cli_runner()
    prefix = api_keys["SZ01"].split(".")[0]
    listing = runner.invoke(args=["api-keys", "list"]).output
    assert prefix in listing and "SZ01" in listing and "GZ01" in listing
    assert api_keys["SZ01"].split(".")[1] not in listing
    revoked = runner.invoke(args=["api-keys", "revoke", prefix])
    assert revoked.exit_code == 0 and prefix in revoked.output
    assert "revoked" in runner.invoke(args=["api-keys", "list"]).output
    assert runner.invoke(args=["api-keys", "revoke", "nosuchprefix"]).exit_code != 0


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-key",
        "Bearer abcdef123456.wrong-secret",
    ],
)
def test_a_request_without_a_valid_key_is_refused(api, header):
    headers = {"Authorization": header} if header is not None else {}
    response = api.client.get(f"/api/v1/members/by-card/{UNKNOWN_CARD}", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_right_prefix_with_a_wrong_secret_is_refused(api, api_keys):
    prefix = api_keys["SZ01"].split(".")[0]
    assert_error(api.get(f"/members/by-card/{UNKNOWN_CARD}", key=f"{prefix}.guess"), 401)


def test_a_revoked_key_stops_working_at_once(app, api, api_keys):
    assert api.get(f"/members/by-card/{UNKNOWN_CARD}").status_code == 404
    prefix = api_keys["SZ01"].split(".")[0]
    app.test_cli_runner().invoke(args=["api-keys", "revoke", prefix])
    error = assert_error(api.get(f"/members/by-card/{UNKNOWN_CARD}"), 401, "unauthorized")
    assert "revoked" in error["message"]
    # The other dealer's key is untouched.
    assert api.get(f"/members/by-card/{UNKNOWN_CARD}", dealer="GZ01").status_code == 404


def test_a_successful_call_records_when_the_key_was_last_used(app, api, api_keys, member, clock):
    from app.cards.services import active_card
    from app.members.models import Member

    with app.app_context():
        number = active_card(db.session.get(Member, member["id"])).number
    assert api.get(f"/members/by-card/{number}").status_code == 200
    with app.app_context():
        row = db.session.scalar(
            select(ApiKey).where(ApiKey.prefix == api_keys["SZ01"].split(".")[0])
        )
        assert row.last_used_at == clock.now()


def test_malformed_json_is_a_400_and_changes_nothing(api):
    response = api.post(
        "/dms/deliveries", data=b'{"delivered_on": ', content_type="application/json"
    )
    assert_error(response, 400, "bad_request")
    json = {"content_type": "application/json"}
    assert_error(api.post("/dms/service-visits", data=b"[1, 2]", **json), 400, "bad_request")
    assert_error(api.post("/dms/service-visits", data=b'{"amount_yuan": NaN}', **json), 400)
    assert_error(api.post("/vouchers/redeem", data=b"", **json), 400)
    # A body that is not declared JSON is refused before it is read.
    assert_error(api.post("/vouchers/redeem", data=b"{}"), 415, "bad_request")


def test_unknown_api_paths_and_wrong_methods_answer_json(api):
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.get("/dms/deliveries"), 405, "method_not_allowed")
    # Outside /api the HTML error pages stay.
    response = api.client.get("/nothing-here")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_forbidden_rule_answers_403_in_the_error_format(api, monkeypatch):
    from app.core.errors import Forbidden
    from app.members import delivery

    def refuse(**kwargs):
        raise Forbidden("Not for this key.")

    monkeypatch.setattr(delivery, "record_delivery", refuse)
    body = {
        "delivered_on": "2026-11-20",
        "sales_consultant": "Wang Fang",
        "customer": {"name": "Chen Jie", "mobile": "13700001111"},
        "vehicle": {
            "vin": "LFV2A21K0A3000001",
            "model": "Sagitar",
            "colour": "white",
            "transmission": "automatic",
        },
    }
    assert_error(api.post("/dms/deliveries", body), 403, "forbidden")


def test_an_unexpected_failure_is_a_json_500(app, api, monkeypatch):
    from app.cards import services

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "card_for_dealer", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert_error(api.get(f"/members/by-card/{UNKNOWN_CARD}"), 500, "internal_error")


def test_messages_follow_accept_language(api):
    response = api.post("/vouchers/redeem", {}, headers={"Accept-Language": "zh-CN"})
    error = assert_error(response, 422, "validation_failed", field="code")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["fields"]["code"][0])


# ------------------------------------------------------------------------------ OpenAPI


def test_every_api_view_has_one_documented_operation(app):
    """operations.yaml holds an entry for each view of the API, and none for a view gone."""
    from app.api.spec import documented_operations

    views = {e.removeprefix("api.") for e in app.view_functions if e.startswith("api.")}
    assert set(documented_operations()) == views


def test_the_openapi_document_is_public_and_valid_openapi_3(api):
    response = api.get("/openapi.json", dealer=None)
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {
        "/api/v1/dms/deliveries",
        "/api/v1/dms/service-visits",
        "/api/v1/dms/service-visits/{ro_number}/refund",
        "/api/v1/dms/service-visits/{ro_number}/amend",
        "/api/v1/members/by-card/{card_number}",
        "/api/v1/vouchers/redeem",
        "/api/v1/openapi.json",
    }
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]
    schemas = document["components"]["schemas"]
    assert {"Error", "Delivery", "ServiceVisit", "VoucherRedeem", "MemberByCard"} <= set(schemas)
    assert schemas["ServiceVisit"]["properties"]["amount_yuan"]["type"] == "number"
    delivery = document["paths"]["/api/v1/dms/deliveries"]["post"]
    assert delivery["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Delivery"
    }
    assert {"200", "201", "400", "401", "409", "422"} <= set(delivery["responses"])
    visits = document["paths"]["/api/v1/dms/service-visits"]["post"]["responses"]
    assert visits["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RepairOrderDiffers"
    }
    assert {"recorded", "sent"} <= set(schemas["RepairOrderDiffersBody"]["properties"])
    amend = document["paths"]["/api/v1/dms/service-visits/{ro_number}/amend"]["post"]
    assert amend["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VisitAmendment"
    }
    assert "reason" in schemas["VisitAmendment"]["required"]


def test_when_a_key_was_last_used_is_written_at_most_once_a_minute(
    app, api, api_keys, member, clock
):
    from app.cards.services import active_card
    from app.members.models import Member

    with app.app_context():
        path = f"/members/by-card/{active_card(db.session.get(Member, member['id'])).number}"
    prefix = api_keys["SZ01"].split(".")[0]

    def last_used():
        with app.app_context():
            return db.session.scalar(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix))

    # A call that fails saves nothing, its key's use neither; the next call's does.
    assert api.get(f"/members/by-card/{UNKNOWN_CARD}").status_code == 404
    assert last_used() is None
    assert api.get(path).status_code == 200
    first = clock.now()
    assert last_used() == first
    clock.advance(seconds=59)
    assert api.get(path).status_code == 200
    assert last_used() == first
    clock.advance(seconds=2)
    assert api.get(path).status_code == 200
    assert last_used() == clock.now()


@pytest.mark.postgres
def test_a_key_revoked_by_another_process_is_refused_by_the_next_call(pg_app, tmp_path):
    """The key is cached in this process; ``flask api-keys revoke`` runs in another one."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.api.conftest import ApiClient, make_key
    from tests.factories import make_dealer

    with pg_app.app_context():
        make_dealer("SZ01")
        db.session.commit()
    key = make_key(pg_app, "SZ01")
    api = ApiClient(pg_app, {"SZ01": key})
    assert api.get(f"/members/by-card/{UNKNOWN_CARD}").status_code == 404
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "CARCLUB_ENV": "development",
        "CARCLUB_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": pg_app.config["SQLALCHEMY_DATABASE_URI"],
    }
    revoked = subprocess.run(
        [sys.executable, "-m", "flask", "api-keys", "revoke", key.split(".")[0]],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert revoked.returncode == 0, revoked.stderr
    error = assert_error(api.get(f"/members/by-card/{UNKNOWN_CARD}"), 401, "unauthorized")
    assert "revoked" in error["message"]
