"""The real-model tier never passes silently: without its wheels it skips and names what is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.timeout(120)


def test_without_the_server_wheel_the_tier_skips_naming_it(tmp_path):
    shadow = tmp_path / "xllamacpp"
    shadow.mkdir()
    (shadow / "__init__.py").write_text('raise ImportError("no wheel for this platform (test)")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-rs", "tests/llm_real"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-2000:]
    assert "passed" not in out.splitlines()[-1], out[-2000:]
    assert "skipped" in out.splitlines()[-1], out[-2000:]
    assert "xllamacpp (llama.cpp's server, requirements-model.txt) cannot be imported" in out, out[-2000:]
    assert "no wheel for this platform (test)" in out, out[-2000:]
