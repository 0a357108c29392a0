import pytest

from backend_app.settings import SettingsError, load_settings


def test_defaults_and_original_names():
    s = load_settings(
        {
            "API_PORT": "9000",
            "MOCK_MODE": "true",
            "AI_PROVIDER": "openai",
            "CANARY_PERCENT": "25",
            "FEATURE_FLAG_USE_V2": "yes",
            "CORS_ORIGINS": "http://a.test, http://b.test",
        }
    )
    assert s.api_port == 9000 and s.effective_ai_provider == "offline"
    assert s.canary_percent == 25 and s.feature_flag_use_v2 is True
    assert s.cors_origins == ["http://a.test", "http://b.test"]


def test_bad_values_fail_fast_with_the_variable_name():
    with pytest.raises(SettingsError, match="API_PORT"):
        load_settings({"API_PORT": "eighty"})
    with pytest.raises(SettingsError, match="CANARY_PERCENT"):
        load_settings({"CANARY_PERCENT": "150"})
    with pytest.raises(SettingsError, match="MOCK_MODE"):
        load_settings({"MOCK_MODE": "maybe"})
    for name, value in (("GUARD_WINDOW_S", "0"), ("GUARD_ERROR_RATE", "5"), ("GUARD_MIN_SAMPLES", "-3")):
        with pytest.raises(SettingsError, match="GUARD_ERROR_RATE"):  # a guard that could never trip
            load_settings({name: value})


def test_production_refuses_default_secrets():
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({"APP_ENV": "production"})
    ok = load_settings({"APP_ENV": "production", "SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32})
    assert ok.is_production


def test_database_url_normalised():
    s = load_settings({"DATABASE_URL": "postgres://u:p@h/db"})
    assert s.sqlalchemy_url == "postgresql+psycopg://u:p@h/db"
    assert load_settings({"SQLITE_PATH": "/tmp/x.db"}).sqlalchemy_url == "sqlite:////tmp/x.db"


def test_env_example_lists_every_setting():
    from dataclasses import fields
    from pathlib import Path

    from backend_app.settings import Settings

    text = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    missing = [f.metadata["env"] for f in fields(Settings) if f"{f.metadata['env']}=" not in text]
    assert missing == []


def test_only_settings_reads_the_environment():
    import re
    from pathlib import Path

    pkg = Path(__file__).resolve().parent.parent / "backend_app"
    offenders = [
        str(p)
        for p in pkg.rglob("*.py")
        if p.name != "settings.py"
        and re.search(r"os\.environ|os\.getenv", p.read_text())
        and "PROMETHEUS_MULTIPROC_DIR" not in p.read_text()
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PURGE_RETENTION_H": "0"}, "PURGE_RETENTION_H must be above 0"),  # would purge every analysis
        ({"PURGE_RETENTION_H": "-1"}, "PURGE_RETENTION_H must be above 0"),
        ({"ACCESS_TOKEN_MINUTES": "0"}, "ACCESS_TOKEN_MINUTES must be above 0"),
        ({"MAX_VIDEO_DURATION_S": "nan"}, "MAX_VIDEO_DURATION_S must be a finite number"),
        ({"MONTHLY_BUDGET_USD": "-5"}, "MONTHLY_BUDGET_USD must be 0 or more"),
        ({"API_PORT": "99999"}, "API_PORT must be a TCP port"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"LOGIN_RATE_LIMIT": "10/minut"}, "LOGIN_RATE_LIMIT is not a rate"),  # would turn the limit off
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL must be"),
        ({"REDIS_URL": "notaurl"}, "REDIS_URL must be"),
    ],
)
def test_values_the_app_cannot_run_with_are_refused_by_name(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_zero_where_zero_means_off_and_other_rate_forms_are_taken():
    settings = load_settings(
        {
            "MONTHLY_BUDGET_USD": "0",
            "LLM_CACHE_TTL_S": "0",
            "CANARY_PERCENT": "0",
            "LOGIN_RATE_LIMIT": "5/minute;100/day",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.monthly_budget_usd == 0 and settings.login_rate_limit == "5/minute;100/day"
