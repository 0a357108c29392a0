from tests.factories import auth_headers, make_user


def test_crud_own_sessions(client):
    user = make_user()
    h = auth_headers(client, user)
    r = client.post("/api/v1/sessions", json={"name": "  Spring shoot "}, headers=h)
    assert r.status_code == 201 and r.get_json()["name"] == "Spring shoot"
    sid = r.get_json()["id"]
    assert [s["id"] for s in client.get("/api/v1/sessions", headers=h).get_json()["sessions"]] == [sid]
    assert client.get(f"/api/v1/sessions/{sid}", headers=h).get_json()["name"] == "Spring shoot"
    assert client.delete(f"/api/v1/sessions/{sid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/sessions/{sid}", headers=h).status_code == 404


def test_other_users_session_is_404_not_403(client):
    alice, bob = make_user(), make_user()
    ha, hb = auth_headers(client, alice), auth_headers(client, bob)
    sid = client.post("/api/v1/sessions", json={"name": "alice only"}, headers=ha).get_json()["id"]
    for method in ("get", "delete"):
        r = getattr(client, method)(f"/api/v1/sessions/{sid}", headers=hb)
        assert r.status_code == 404
        body = r.get_json()
        assert body["error"]["code"] == "SESSION_NOT_FOUND"
        assert "alice only" not in r.get_data(as_text=True)
    assert client.get("/api/v1/sessions", headers=hb).get_json()["sessions"] == []
    assert client.get(f"/api/v1/sessions/{sid}", headers=ha).status_code == 200


def test_session_name_validation(client):
    h = auth_headers(client, make_user())
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": 42}, {"name": "x" * 201}):
        r = client.post("/api/v1/sessions", json=body, headers=h)
        assert r.status_code == 422, body
        assert r.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_tenant_helpers_require_a_tenant(app):
    import pytest

    from backend_app.models import Session
    from backend_app.tenancy import Tenant, scoped

    with pytest.raises(TypeError):
        scoped(Session, "user-id")
    with pytest.raises(ValueError):
        Tenant("")


def test_prepared_listings_read_only_the_tenants_rows_and_session(app):
    import pytest

    from backend_app.extensions import db
    from backend_app.models import Analysis
    from backend_app.services import sessions
    from backend_app.tenancy import OwnedRows, Tenant

    alice, bob = make_user(), make_user()
    first, second = (sessions.create(Tenant(alice.id), name) for name in ("first", "second"))
    theirs = sessions.create(Tenant(bob.id), "bob's")
    for owner, session, name in ((alice, first, "a1.mp4"), (alice, second, "a2.mp4"), (bob, theirs, "b.mp4")):
        db.session.add(
            Analysis(
                user_id=owner.id,
                session_id=session.id,
                filename=name,
                content_type="video/mp4",
                declared_size=1,
                storage_key=f"k/{name}",
            )
        )
    db.session.commit()
    listing = OwnedRows(Analysis, ("filename",), order_by=Analysis.__table__.c.filename)
    assert [r.filename for r in listing.read(Tenant(alice.id))] == ["a1.mp4", "a2.mp4"]
    assert [r.filename for r in listing.read(Tenant(alice.id, second.id))] == ["a2.mp4"]
    assert listing.read(Tenant(alice.id, theirs.id)) == []  # another user's session is simply empty
    assert [r.filename for r in listing.read(Tenant(bob.id))] == ["b.mp4"]
    assert [r.name for r in sessions.list_for(Tenant(alice.id))] == ["second", "first"]
    with pytest.raises(TypeError):
        listing.read(alice.id)


def test_session_name_length_counts_what_was_sent(client):
    """The OpenAPI document says maxLength 200 of the name as sent: 199 letters and two spaces are too many."""
    h = auth_headers(client, make_user())
    assert client.post("/api/v1/sessions", json={"name": " " + "x" * 199 + " "}, headers=h).status_code == 422
    assert client.post("/api/v1/sessions", json={"name": "x" * 200}, headers=h).status_code == 201
