import pytest


@pytest.mark.sqlite_only
def test_no_cors_by_default(client):
    r = client.get("/api/v1/openapi.json", headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.sqlite_only
@pytest.mark.settings(cors_origins=["https://app.example.test"])
def test_cors_allows_configured_origins_only(client):
    ok = client.options(
        "/api/v1/sessions", headers={"Origin": "https://app.example.test", "Access-Control-Request-Method": "GET"}
    )
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://app.example.test"
    bad = client.get("/api/v1/openapi.json", headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in bad.headers
