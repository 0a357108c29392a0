"""The default AI analysers need no network and no home directory: a subprocess in a network
namespace of its own (``unshare -rn``: only a loopback that is down), with HOME an empty directory,
TMPDIR a fresh one (so the whisper model is joined from the wheels there) and HF_HUB_OFFLINE unset,
analyses a video with speech in it and finds what each installed analyser finds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from backend_app.services.video import analysers
from backend_app.settings import KNOWN_ANALYSERS
from tests.analysers.speech_media import EN, speech_video
from tests.helpers import ROOT

SCRIPT = """
import json, sys
from backend_app.services.video import pipeline
from backend_app.settings import load_settings
settings = load_settings({"ANALYSERS": sys.argv[3], "VIDEO_PREVIEW": "false", "ANALYSER_BUDGET_S_PER_MIN": "600"},
                         ai_provider="offline", data_dir=sys.argv[2] + "/data")
pipeline.warm(settings)
out = pipeline.analyse_file(sys.argv[1], sys.argv[2] + "/work", settings)
print(json.dumps({"found": out.found, "analysers": out.analysers}))
"""


def _default_installed() -> list[str]:
    """The product's default analysers (settings.py; the suite's conftest sets none) that this build
    has and whose packages are installed."""
    import ast
    import inspect

    from backend_app import settings as settings_module

    tree = ast.parse(inspect.getsource(settings_module))
    default = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "DEFAULT_ANALYSERS"
    )
    assert set(default) <= set(KNOWN_ANALYSERS)
    return [name for name in default if (facts := analysers.info(name)) is not None and not facts.missing()]


def _unshare() -> list[str]:
    tool = shutil.which("unshare")
    if tool is None:
        pytest.skip("unshare (util-linux) is not installed: cannot take the network away")
    for flags in (["-n"], ["-rn"]):
        tried = subprocess.run([tool, *flags, "true"], capture_output=True, text=True, timeout=30)
        if tried.returncode == 0:
            return [tool, *flags]
    pytest.skip(f"unshare is not permitted here (a new network namespace was refused: {tried.stderr.strip()})")


@pytest.mark.timeout(900)
def test_the_default_analysers_run_with_no_network_and_an_empty_home(tmp_path):
    names = _default_installed()
    if not names:
        pytest.skip("no default analyser is built and installed here (pip install -r requirements-ai.txt)")
    unshare = _unshare()
    video = speech_video(tmp_path / "said.mp4", 8, [(2.0, *EN)])
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE", "TRANSFORMERS"))}
    env |= {"HOME": str(home), "TMPDIR": str(temp), "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(home / ".cache")}
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(proxy, None)

    probe = subprocess.run(
        [*unshare, sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert probe.returncode != 0, "the namespace still reaches the network: the test would prove nothing"

    run = subprocess.run(
        [*unshare, sys.executable, "-c", SCRIPT, str(video), str(tmp_path), ",".join(names)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=840,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert {r["name"]: r["state"] for r in result["analysers"]} == dict.fromkeys(names, "ran"), (
        result["analysers"],
        run.stderr[-3000:],
    )
    if "speech" in names:
        words = " ".join(s["text"] for s in result["found"]["transcript"]).lower()
        assert "old town" in words, result["found"]["transcript"]
        assert any(p.name.startswith("framewise-models-") for p in temp.iterdir())  # joined here, from the wheels
