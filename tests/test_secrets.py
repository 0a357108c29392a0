"""Secrets nobody set: generated once per data folder, kept 0600, the same for every process.

The old built-in development secret let anyone sign an admin's token on a default `make run`
(tests/test_run_script.py proves a token signed with it is refused by a running server)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time

import pytest

from backend_app import local_secrets
from backend_app.settings import SettingsError, load_settings
from tests.helpers import ROOT

OLD_BUILT_IN = "dev-insecure-default-secret-change-me-in-production"


def test_unset_secrets_are_generated_once_kept_owner_only_and_reused(tmp_path):
    data = tmp_path / "data"
    first = load_settings({"DATA_DIR": str(data)})
    path = data / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert first.secret_key == stored["SECRET_KEY"] and first.jwt_secret_key == stored["JWT_SECRET_KEY"]
    assert first.secret_key != first.jwt_secret_key and min(len(first.secret_key), len(first.jwt_secret_key)) >= 60
    assert OLD_BUILT_IN not in (first.secret_key, first.jwt_secret_key)

    again = load_settings({"DATA_DIR": str(data)})  # the next start
    assert (again.secret_key, again.jwt_secret_key) == (first.secret_key, first.jwt_secret_key)
    other = load_settings({"DATA_DIR": str(tmp_path / "elsewhere")})  # another deployment: its own
    assert other.secret_key != first.secret_key

    path.chmod(0o644)  # a restore or a careless chmod: put back to owner-only, same secrets
    assert load_settings({"DATA_DIR": str(data)}).secret_key == first.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_set_secret_wins_and_only_the_unset_one_comes_from_the_file(tmp_path):
    mine = "m" * 40
    settings = load_settings({"DATA_DIR": str(tmp_path), "SECRET_KEY": mine})
    assert settings.secret_key == mine
    assert settings.jwt_secret_key == json.loads((tmp_path / "secrets.json").read_text())["JWT_SECRET_KEY"]
    both = load_settings({"DATA_DIR": str(tmp_path / "b"), "SECRET_KEY": mine, "JWT_SECRET_KEY": "j" * 40})
    assert not (tmp_path / "b" / "secrets.json").exists()  # nothing generated that nobody uses
    assert both.jwt_secret_key == "j" * 40


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    """make run starts gunicorn's workers and worker.py at once: each may be the first."""
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "from backend_app.settings import load_settings\n"
        f"s = load_settings({{'DATA_DIR': {str(tmp_path / 'data')!r}}})\n"
        "print(s.secret_key, s.jwt_secret_key)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(8)
    ]
    time.sleep(1.5)  # every interpreter up and waiting
    go.touch()
    answers = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(answers) == 1, answers
    assert answers.pop().split()[0] == json.loads((tmp_path / "data" / "secrets.json").read_text())["SECRET_KEY"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["secrets.json"]  # no temporary left


def test_production_never_generates_and_refuses_missing_or_short_secrets(tmp_path):
    load_settings({"DATA_DIR": str(tmp_path)})  # a development start left a file behind
    with pytest.raises(SettingsError, match="SECRET_KEY must be set"):
        load_settings({"APP_ENV": "production", "DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="JWT_SECRET_KEY must be set"):
        load_settings({"APP_ENV": "production", "DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 32})
    fresh = tmp_path / "prod"
    with pytest.raises(SettingsError):
        load_settings({"APP_ENV": "production", "DATA_DIR": str(fresh)})
    assert not fresh.exists()


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_old_published_default_is_refused_wherever_it_is_configured(tmp_path, env):
    """A .env copied from an old example still holding it would sign tokens anyone can forge."""
    others = {"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40}
    for name in others:
        with pytest.raises(SettingsError, match=f"{name} is a published development default"):
            load_settings({"APP_ENV": env, "DATA_DIR": str(tmp_path), **others, name: OLD_BUILT_IN})


def test_the_built_in_string_is_gone_from_the_code():
    text = "\n".join(p.read_text() for p in (ROOT / "backend_app").rglob("*.py"))
    assert OLD_BUILT_IN not in text and "DEFAULT_SECRET" not in text


def test_a_damaged_secrets_file_stops_the_start_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(local_secrets, "_READ_WAIT_S", 0.1)
    (tmp_path / "secrets.json").write_text('{"SECRET_KEY": "short"}')
    with pytest.raises(SettingsError, match="delete it to have new secrets generated"):
        load_settings({"DATA_DIR": str(tmp_path)})
    (tmp_path / "secrets.json").write_text("not json")
    with pytest.raises(SettingsError, match="is not the JSON object"):
        load_settings({"DATA_DIR": str(tmp_path)})


def test_tokens_and_signed_links_of_one_app_are_accepted_by_the_next_start(tmp_path):
    """The web's workers, the RQ worker and a restart all build their app from the same file."""
    from flask_jwt_extended import create_access_token, decode_token

    from backend_app import create_app
    from backend_app.adapters.storage import sign_token, verify_token

    overrides = {"app_env": "test", "data_dir": str(tmp_path / "data"), "sqlite_path": str(tmp_path / "x.db")}
    first, second = create_app(dict(overrides)), create_app(dict(overrides))
    with first.app_context():
        token = create_access_token(identity="u1")
    with second.app_context():
        assert decode_token(token)["sub"] == "u1"
    link = sign_token(first.config["SETTINGS"].secret_key, {"k": "a/b", "m": "GET"}, 60)
    assert verify_token(second.config["SETTINGS"].secret_key, link, "GET")["k"] == "a/b"
