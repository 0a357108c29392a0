"""Migrations upgrade and downgrade on empty databases and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backend_app import create_app
from backend_app.extensions import db
from backend_app.migration_filter import include_object
from tests.helpers import ROOT


def _fresh_app(db_backend, request, tmp_path, redis_server):
    overrides = {"app_env": "test", "redis_url": redis_server["url"], "data_dir": str(tmp_path)}
    if db_backend == "sqlite":
        overrides["sqlite_path"] = str(tmp_path / "empty.db")
    else:
        overrides["database_url"] = request.getfixturevalue("postgres_server").create_database("framewise_migrations")
    return create_app(overrides)


def test_upgrade_downgrade_roundtrip_and_no_drift(db_backend, request, tmp_path, redis_server):
    app = _fresh_app(db_backend, request, tmp_path, redis_server)
    directory = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=directory)
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "sessions", "jobs"} <= tables
        with db.engine.connect() as conn:
            opts = {"render_as_batch": True, "include_object": include_object}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(directory=directory, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=directory)
        assert {"users", "sessions", "jobs"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_busy_timeout(app):
    from sqlalchemy import text

    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_shot_documents_lose_no_face_detected_and_faces_match_only_faces(db_backend, request, tmp_path, redis_server):
    from backend_app.models import Session
    from backend_app.services.chat import search
    from backend_app.tenancy import Tenant
    from tests import chat_data
    from tests.factories import make_user

    app = _fresh_app(db_backend, request, tmp_path, redis_server)
    directory = str(ROOT / "migrations")
    with app.app_context():
        upgrade(directory=directory, revision="0006")
        user = make_user()
        session = Session(user_id=user.id, name="old")
        db.session.add(session)
        db.session.flush()
        session_id = session.id
        analysis = chat_data.add_analysis(user.id, session_id, "old.mp4")
        chat_data.add_document(
            user.id,
            session_id,
            analysis.id,
            0,
            "old.mp4 — shot 0",
            "Bright, static shot (2.0 s), no face detected. Bright and static.",
        )
        chat_data.add_document(
            user.id, session_id, analysis.id, 1, "old.mp4 — shot 1", "Bright, static shot (2.0 s) with 1 face. 1 face."
        )
        db.session.commit()
        assert len(search.search(Tenant(user.id), "faces")) == 2
        upgrade(directory=directory)
        assert [hit.shot for hit in search.search(Tenant(user.id), "faces")] == [1]
        db.session.remove()
        db.engine.dispose()
