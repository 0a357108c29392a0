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
    assert s.api_port == 9000 and s.effective_ai_provider == "openai"  # AI_PROVIDER, when set, decides
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


@pytest.mark.parametrize(
    "env, provider",
    [
        ({}, "offline"),
        ({"OPENAI_API_KEY": "sk-x"}, "offline"),  # a key alone never starts paid calls
        ({"MOCK_MODE": "false", "OPENAI_API_KEY": "sk-x"}, "openai"),  # the original system's switch
        ({"MOCK_MODE": "false"}, "offline"),  # no key: nothing to call
        ({"MOCK_MODE": "true", "OPENAI_API_KEY": "sk-x"}, "offline"),
        ({"MOCK_MODE": "false", "OPENAI_API_KEY": "sk-x", "AI_PROVIDER": "offline"}, "offline"),
        ({"MOCK_MODE": "true", "OPENAI_API_KEY": "sk-x", "AI_PROVIDER": "openai"}, "openai"),
        ({"AI_PROVIDER": "openai"}, "openai"),
        ({"AI_PROVIDER": "", "MOCK_MODE": "", "OPENAI_API_KEY": "sk-x"}, "offline"),  # empty is unset
    ],
)
def test_ai_provider_precedence(env, provider):
    settings = load_settings(env)
    assert settings.effective_ai_provider == provider
    assert settings.client_dict()["ai_provider"] == settings.public_dict()["ai_provider"] == provider


def test_an_unknown_ai_provider_is_refused():
    with pytest.raises(SettingsError, match="AI_PROVIDER must be offline or openai"):
        load_settings({"AI_PROVIDER": "claude", "MOCK_MODE": "true"})


def test_aws_names_are_read_where_the_s3_names_are_unset():
    aws = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ENDPOINT_URL": "http://minio.test:9000",
    }
    s = load_settings(aws)
    assert (s.s3_access_key_id, s.s3_secret_access_key) == ("AKIAEXAMPLE", "aws-secret")
    assert (s.s3_region, s.s3_endpoint_url) == ("eu-central-1", "http://minio.test:9000")
    # The newer, more specific AWS names come first: AWS_REGION, AWS_ENDPOINT_URL_S3.
    s = load_settings({**aws, "AWS_REGION": "eu-west-3", "AWS_ENDPOINT_URL_S3": "http://s3.test"})
    assert (s.s3_region, s.s3_endpoint_url) == ("eu-west-3", "http://s3.test")
    # The S3_* names win wherever they are set; an empty one counts as unset.
    s = load_settings(
        {
            **aws,
            "S3_REGION": "us-west-2",
            "S3_ACCESS_KEY_ID": "framewise",
            "S3_SECRET_ACCESS_KEY": "",
            "S3_ENDPOINT_URL": "",
        }
    )
    assert (s.s3_region, s.s3_access_key_id, s.s3_secret_access_key) == ("us-west-2", "framewise", "aws-secret")
    assert s.s3_endpoint_url == "http://minio.test:9000"
    assert load_settings({}).s3_region == "us-east-1"
    assert "s3_access_key_id" not in s.public_dict() and "s3_secret_access_key" not in s.public_dict()


def test_requirements_md_path_defaults_to_the_shipped_sample():
    from pathlib import Path

    from backend_app.services.requirements.markdown import parse

    path = Path(load_settings({}).requirements_md_path)
    assert path == Path(__file__).resolve().parent.parent / "docs" / "requirements.md"
    table = parse(path.read_text(encoding="utf-8"), max_rows=100)
    assert len(table.rows) >= 5 and table.rejected == []
    assert {"en", "de"} <= {row.context.get("language", "en") for row in table.rows}
    assert load_settings({"REQUIREMENTS_MD_PATH": "/srv/reqs.md"}).requirements_md_path == "/srv/reqs.md"


def test_the_docker_image_ships_the_sample_requirements():
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parent.parent / "Dockerfile").read_text()
    assert "COPY docs/requirements.md ./docs/requirements.md" in dockerfile


def test_flag_pins_are_unset_unless_the_environment_sets_them():
    s = load_settings({})
    assert (s.feature_flag_use_v2, s.canary_percent) == (None, None)
    s = load_settings({"FEATURE_FLAG_USE_V2": "", "CANARY_PERCENT": ""})
    assert (s.feature_flag_use_v2, s.canary_percent) == (None, None)
    s = load_settings({"FEATURE_FLAG_USE_V2": "false", "CANARY_PERCENT": "0"})
    assert (s.feature_flag_use_v2, s.canary_percent) == (False, 0)


def test_v2_deadline():
    assert load_settings({}).v2_deadline_s == 2.0
    assert load_settings({"V2_DEADLINE_S": "0.5"}).v2_deadline_s == 0.5
    with pytest.raises(SettingsError, match="V2_DEADLINE_S must be above 0"):
        load_settings({"V2_DEADLINE_S": "0"})
