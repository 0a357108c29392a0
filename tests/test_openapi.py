import pytest

from backend_app.api.openapi import documented_routes
from tests.factories import auth_headers, make_user

OPS_ROUTES = {"/ping", "/health", "/health/analysis-pipeline", "/metrics", "/api/runtime-config"}
COMPAT_ROUTES = {"/upload/init", "/upload/complete", "/upload/status/<analysis_id>", "/analyze"}


def _spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield path, method, op


@pytest.mark.sqlite_only
def test_openapi_lists_every_route_with_documentation(client, app):
    spec = _spec(client)
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, method, _ in _operations(spec)}
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") or rule.rule in OPS_ROUTES | COMPAT_ROUTES:
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<{arg}>", f"{{{arg}}}")
                for conv in ("int", "path", "string", "hexid"):
                    path = path.replace(f"<{conv}:{arg}>", f"{{{arg}}}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                registered.add((path, method.lower()))
    assert registered == documented
    undocumented = [(p, m) for p, m, op in _operations(spec) if op.get("x-undocumented")]
    assert undocumented == [], f"routes without @doc: {undocumented}"
    for _, _, op in _operations(spec):
        assert op["summary"] and op["responses"]


@pytest.mark.sqlite_only
def test_openapi_document_is_valid(client):
    from openapi_spec_validator import validate

    validate(_spec(client))


@pytest.mark.sqlite_only
def test_every_success_response_has_a_schema(client):
    spec = _spec(client)
    bare = [
        (method, path, code)
        for path, method, op in _operations(spec)
        for code, response in op["responses"].items()
        if code.startswith("2") and code != "204" and not response.get("content")
    ]
    assert bare == [("put", "/api/v1/storage/{token}", "201")]  # "stored": no body at all


@pytest.mark.sqlite_only
def test_one_shot_upload_is_multipart_and_the_runtime_config_is_documented(client):
    spec = _spec(client)
    upload = spec["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    form = upload["multipart/form-data"]["schema"]
    assert form["required"] == ["file", "session_id"] and form["properties"]["file"]["format"] == "binary"
    runtime = spec["paths"]["/api/runtime-config"]["get"]
    assert "security" not in runtime  # signed-in users only
    assert set(runtime["responses"]["200"]["content"]["application/json"]["schema"]["required"]) == {
        "settings",
        "flags",
        "variant",
        "guard",
    }


@pytest.mark.sqlite_only
def test_request_constraints_the_server_enforces_are_in_the_document(client, app):
    spec = _spec(client)
    settings = app.config["SETTINGS"]
    init = spec["paths"]["/api/v1/uploads/init"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert init["properties"]["file_size"] == {"type": "integer", "minimum": 1, "maximum": settings.max_upload_bytes}
    chat = spec["paths"]["/api/v1/chat"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert chat["properties"]["mode"]["enum"] == ["auto", "ai", "offline"]
    assert chat["properties"]["message"]["maxLength"] == settings.chat_max_message_chars
    session = spec["paths"]["/api/v1/sessions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert session["properties"]["name"]["maxLength"] == 200
    flag = spec["paths"]["/api/v1/flags/{key}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert flag["properties"]["rollout_percent"]["maximum"] == 100 and flag["required"] == ["enabled"]
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/analyses"]["get"]["parameters"]}
    assert params["limit"]["maximum"] == 500 and "running" in params["status"]["enum"]


@pytest.mark.sqlite_only
def test_allow_headers_list_the_documented_methods(client, app):
    """OPTIONS and 405 answers name exactly the methods the document lists for the path
    (an id segment used to match a sibling action's name: GET /admin/jobs/selftest)."""
    headers = auth_headers(client, make_user("admin"))
    spec = _spec(client)
    by_path: dict[str, set[str]] = {}
    with app.test_request_context():
        for rule, method, _ in documented_routes():
            if "<" not in rule.rule:
                by_path.setdefault(rule.rule, set()).add(method)
    mismatched = {}
    for path, methods in by_path.items():
        assert {m.upper() for m in spec["paths"][path]} == methods
        allowed = set(client.options(path, headers=headers).headers["Allow"].split(", ")) - {"HEAD", "OPTIONS"}
        if allowed != methods:
            mismatched[path] = (sorted(allowed), sorted(methods))
        undeclared = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in methods)
        refused = client.open(path, method=undeclared, headers=headers)
        assert refused.status_code == 405, (path, undeclared)
        assert set(refused.headers["Allow"].split(", ")) - {"HEAD", "OPTIONS"} == methods, path
    assert mismatched == {}
