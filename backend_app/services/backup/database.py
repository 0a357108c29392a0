"""The database half of a backup: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL.

Counts and the migration head are read from the very state that is saved: the SQLite copy
itself, or the PostgreSQL snapshot that pg_dump is given (``--snapshot``), so a running app
writing meanwhile cannot make the manifest disagree with the dump.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from backend_app.errors import AppError
from backend_app.extensions import db
from backend_app.settings import PROJECT_ROOT

SQLITE_FILE, PG_FILE = "database.sqlite3", "database.pgdump"
VERSION_TABLE = "alembic_version"
TOOL_TIMEOUT_S = 3600


class BackupError(AppError):
    status, code = 409, "BACKUP_FAILED"


def dialect() -> str:
    return db.engine.dialect.name


def counts(conn: Connection) -> dict[str, int]:
    """Rows of every table of the app (0 for a table the database does not have yet)."""
    present = set(inspect(conn).get_table_names())
    return {
        table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() if table.name in present else 0
        for table in db.metadata.sorted_tables
    }


def migration_head(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def known_revisions() -> tuple[set[str], set[str]]:
    """(every revision of this code's migrations, the heads)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    return {rev.revision for rev in scripts.walk_revisions()}, set(scripts.get_heads())


def rows_now() -> dict[str, int]:
    with db.engine.connect() as conn:
        return counts(conn)


def dump(folder: Path) -> tuple[str, dict[str, int], str | None]:
    """Save the database into ``folder``; returns (file name, row counts, migration head)."""
    if dialect() == "sqlite":
        return _dump_sqlite(folder / SQLITE_FILE)
    return _dump_postgres(folder / PG_FILE)


def _sqlite_path() -> Path:
    return Path(db.engine.url.database)


def _dump_sqlite(target: Path) -> tuple[str, dict[str, int], str | None]:
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # consistent: the committed state at one moment, WAL included
    finally:
        copy.close()
        source.close()
    with _engine_on(f"sqlite:///{target}") as conn:
        return SQLITE_FILE, counts(conn), migration_head(conn)


@contextmanager
def _engine_on(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _dump_postgres(target: Path) -> tuple[str, dict[str, int], str | None]:
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            found, head = counts(conn), migration_head(conn)
            _run_tool("pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={target}")
    return PG_FILE, found, head


def load(folder: Path, name: str) -> None:
    """Replace the database with the dump ``name`` in ``folder`` (the caller checked it may)."""
    db.session.remove()
    db.engine.dispose()  # no connection of ours may hold a lock on what is replaced
    if dialect() == "sqlite":
        if name != SQLITE_FILE:
            raise BackupError(
                "This archive holds a PostgreSQL dump; the database here is SQLite.", code="BACKUP_DIALECT_MISMATCH"
            )
        _load_sqlite(folder / name)
    else:
        if name != PG_FILE:
            raise BackupError(
                "This archive holds a SQLite file; the database here is PostgreSQL.", code="BACKUP_DIALECT_MISMATCH"
            )
        _refuse_while_in_use()
        _run_tool(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            str(folder / name),
        )


def _refuse_while_in_use() -> None:
    """pg_restore would wait for ever on a table a running app holds (it turns lock timeouts
    off): say that someone is connected instead."""
    with db.engine.connect() as conn:
        others = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalar_one()
    db.engine.dispose()
    if others:
        raise BackupError(
            f"{others} other connection(s) to this database: stop the web server and the workers before restoring.",
            code="BACKUP_DATABASE_IN_USE",
        )


def _load_sqlite(source: Path) -> None:
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, staged)
    for suffix in ("-wal", "-shm"):  # the old file's journal must not be replayed onto the new one
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(staged, target)


def _conninfo(passfile: Path) -> str:
    """The database URL as a libpq connection string whose password sits in ``passfile``
    (mode 0600): never on a command line that `ps` shows."""
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    parts = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "dbname": url.database,
        "sslmode": url.query.get("sslmode"),
        "passfile": str(passfile),
    }
    fields = [url.host or "*", str(url.port or "*"), url.database or "*", url.username or "*", url.password or ""]
    passfile.write_text(":".join(f.replace("\\", "\\\\").replace(":", "\\:") for f in fields) + "\n")
    passfile.chmod(0o600)
    return " ".join(f"{key}={_quoted(str(value))}" for key, value in parts.items() if value)


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def find_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
        found = str(candidates[-1]) if candidates else None
    if not found:
        raise BackupError(
            f"{name} is not installed: install PostgreSQL's client tools (Debian: postgresql-client), "
            "of the server's major version or newer.",
            code="BACKUP_TOOL_MISSING",
        )
    return found


def _run_tool(name: str, *args: str) -> None:
    """Run pg_dump or pg_restore on this app's database (``--dbname`` is added here)."""
    tool = find_tool(name)
    with tempfile.TemporaryDirectory(prefix="fw-pg-") as folder:
        conninfo = _conninfo(Path(folder) / "pgpass")
        done = subprocess.run(
            [tool, *args, f"--dbname={conninfo}"], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    if done.returncode != 0:
        raise BackupError(f"{name} failed: {done.stderr.strip()[-500:]}", code="BACKUP_FAILED")
