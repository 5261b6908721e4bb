"""API fixtures: keys for SZ01 and GZ01 made with the CLI, and a client that sends them."""

import pytest


def make_key(app, dealer: str, name: str = "DMS") -> str:
    """Run ``flask api-keys create``; the key is the last line it prints."""
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--dealer", dealer, "--name", name]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def api_keys(app, dealers) -> dict[str, str]:
    """A live key of each dealer."""
    return {"SZ01": make_key(app, "SZ01"), "GZ01": make_key(app, "GZ01")}


class ApiClient:
    """Calls the API as a dealer's system: a bearer key, JSON, no session or CSRF token."""

    def __init__(self, app, keys: dict[str, str]):
        self.client = app.test_client()
        self.keys = keys

    def _headers(self, dealer: str | None, key: str | None, headers: dict | None) -> dict:
        sent = dict(headers or {})
        key = key if key is not None else (self.keys[dealer] if dealer else None)
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        return sent

    def get(self, path: str, *, dealer: str | None = "SZ01", key=None, headers=None):
        """GET ``/api/v1`` + ``path``."""
        return self.client.get(f"/api/v1{path}", headers=self._headers(dealer, key, headers))

    def post(self, path: str, body=None, *, dealer: str | None = "SZ01", key=None, **kwargs):
        """POST a JSON ``body`` (or raw ``data=``) to ``/api/v1`` + ``path``."""
        headers = self._headers(dealer, key, kwargs.pop("headers", None))
        if body is not None:
            kwargs["json"] = body
        return self.client.post(f"/api/v1{path}", headers=headers, with_csrf=False, **kwargs)


@pytest.fixture
def api(app, api_keys) -> ApiClient:
    """A client of the API with the SZ01 key by default (``dealer="GZ01"`` for the other)."""
    return ApiClient(app, api_keys)


def assert_error(response, status: int, code: str | None = None, field: str | None = None):
    """The response is the API's JSON error with ``status`` (and ``code`` / ``field``)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) <= {"code", "message", "fields"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    if field is not None:
        assert field in error.get("fields", {}), error
        assert all(isinstance(m, str) and m for m in error["fields"][field])
    return error
