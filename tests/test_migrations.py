"""Migrations upgrade and downgrade on empty databases and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from backend_app import create_app
from backend_app.extensions import db
from backend_app.migration_filter import include_object

from .helpers import ROOT


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
