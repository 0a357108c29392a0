"""Flask-Migrate (with Alembic, Mako and Pygments, ~10 MB) is imported when a migration runs, not
when the app is built: gunicorn workers and work horses never migrate."""

import json
import subprocess
import sys

from tests.helpers import ROOT

BUILD_THEN_MIGRATE = """
import json, sys
from backend_app import create_app
app = create_app({"app_env": "test", "data_dir": sys.argv[1], "sqlite_path": sys.argv[1] + "/m.db",
                  "database_url": "", "analysers": ["none"]})
built = sorted(m for m in ("flask_migrate", "alembic", "mako", "pygments") if m in sys.modules)
runner = app.test_cli_runner()
listed = runner.invoke(args=["--help"]).output
helped = runner.invoke(args=["db", "--help"]).output
upgraded = runner.invoke(args=["db", "upgrade"])
import sqlite3
current = sqlite3.connect(sys.argv[1] + "/m.db").execute("select version_num from alembic_version").fetchall()
print(json.dumps({"built": built, "listed": " db " in listed, "helped": "upgrade" in helped,
                  "upgraded": upgraded.exit_code, "current": current}))
"""


def test_building_the_app_imports_no_migration_tool_and_flask_db_still_migrates(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", BUILD_THEN_MIGRATE, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["built"] == [], result
    assert result["listed"] and result["helped"] and result["upgraded"] == 0, result
    revisions = {p.stem for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert len(result["current"]) == 1 and result["current"][0][0] in revisions, result
