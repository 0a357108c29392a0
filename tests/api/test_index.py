"""Index health and stats over HTTP: users see their own scope, admins the whole index."""

from tests import chat_data
from tests.factories import auth_headers, make_user


def test_health_scope_and_rebuild_are_admin_only(client, app):
    corpus = chat_data.build(seed=12, users=2, sessions=1, analyses=1, shots=3)
    user = corpus.users[0]
    admin = make_user(role="admin")
    hu, ha = auth_headers(client, user), auth_headers(client, admin)
    mine = client.get("/api/v1/index/health", headers=hu).get_json()
    assert mine["scope"] == "user" and mine["documents"] == mine["indexed"] == 3 and mine["in_sync"]
    everything = client.get("/api/v1/index/health", headers=ha).get_json()
    assert everything["scope"] == "global" and everything["documents"] == everything["indexed"] == 6
    assert everything["backend"] in {"sqlite-fts5", "postgresql-fts"} and everything["in_sync"]
    assert client.post("/api/v1/index/rebuild", headers=hu).status_code == 403
    rebuilt = client.post("/api/v1/index/rebuild", headers=ha).get_json()
    assert rebuilt["indexed"] == 6 and rebuilt["health"]["in_sync"]
    assert client.get("/api/v1/index/stats", headers=ha).get_json()["shots"] == 0  # admins have no videos here
    assert client.get("/api/v1/index/health").status_code == 401
