import pytest


@pytest.mark.sqlite_only
def test_openapi_lists_every_route_with_documentation(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<{arg}>", f"{{{arg}}}")
                for conv in ("int", "path", "string"):
                    path = path.replace(f"<{conv}:{arg}>", f"{{{arg}}}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                registered.add((path, method.lower()))
    assert registered == documented
    undocumented = [(p, m) for p, ops in spec["paths"].items() for m, op in ops.items() if op.get("x-undocumented")]
    assert undocumented == [], f"routes without @doc: {undocumented}"
    for ops in spec["paths"].values():
        for op in ops.values():
            assert op["summary"] and op["responses"]


@pytest.mark.sqlite_only
def test_openapi_document_is_valid(client):
    from openapi_spec_validator import validate

    validate(client.get("/api/v1/openapi.json").get_json())
