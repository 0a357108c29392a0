"""The requirement rule engine is pure: importing it loads no database, queue or Redis code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT

PURE = ["engine", "rules", "lexicon", "criteria", "rewrite", "markdown"]
FORBIDDEN = ["sqlalchemy", "flask_sqlalchemy", "rq", "redis"]


@pytest.mark.parametrize("module", PURE)
def test_importing_the_rule_engine_loads_no_database_queue_or_redis(module):
    script = (
        "import json, sys\n"
        f"import backend_app.services.requirements.{module}\n"
        f"print(json.dumps(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [], f"importing {module} loaded {done.stdout.strip()}"


def test_the_rule_engine_still_answers_in_a_fresh_interpreter():
    script = (
        "from backend_app.services.requirements import criteria, engine\n"
        "res = engine.evaluate_v1('The system shall be fast.', {}, criteria.resolve(None))\n"
        "print(res['findings'][0]['rule_id'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
