"""Every setting Framewise reads, parsed from the environment in one place.

This module is the only reader of ``os.environ``. Each field documents itself in
``.env.example``; a bad value fails at start-up with the variable's name, never later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backend_app import local_secrets

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value the app cannot run with."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {raw!r}")


def _list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


# The AI analysers a video gets when ANALYSERS is unset (opt-in besides: pose, nsfw).
DEFAULT_ANALYSERS = ("speech", "text", "faces")
KNOWN_ANALYSERS = ("speech", "text", "faces", "pose", "nsfw")


@dataclass(frozen=True)
class Settings:
    # --- runtime -----------------------------------------------------------------
    app_env: str = field(default="development", metadata={"env": "APP_ENV"})
    api_host: str = field(default="127.0.0.1", metadata={"env": "API_HOST"})
    api_port: int = field(default=8000, metadata={"env": "API_PORT"})
    log_level: str = field(default="INFO", metadata={"env": "LOG_LEVEL"})
    # Empty: generated once and kept in $DATA_DIR/secrets.json (never in production: see load_settings).
    secret_key: str = field(default="", metadata={"env": "SECRET_KEY"})
    jwt_secret_key: str = field(default="", metadata={"env": "JWT_SECRET_KEY"})
    access_token_minutes: int = field(default=15, metadata={"env": "ACCESS_TOKEN_MINUTES"})
    refresh_token_days: int = field(default=14, metadata={"env": "REFRESH_TOKEN_DAYS"})
    # Unset: on in production, off elsewhere (see load_settings).
    cookie_secure: bool = field(default=False, metadata={"env": "COOKIE_SECURE"})
    cors_origins: list[str] = field(default_factory=list, metadata={"env": "CORS_ORIGINS"})
    login_rate_limit: str = field(default="30 per minute;300 per hour", metadata={"env": "LOGIN_RATE_LIMIT"})
    api_key_rate_limit: str = field(default="300 per minute;10000 per hour", metadata={"env": "API_KEY_RATE_LIMIT"})
    login_free_failures: int = field(default=5, metadata={"env": "LOGIN_FREE_FAILURES"})
    login_backoff_s: float = field(default=1.0, metadata={"env": "LOGIN_BACKOFF_S"})
    login_backoff_max_s: int = field(default=900, metadata={"env": "LOGIN_BACKOFF_MAX_S"})
    refresh_reuse_grace_s: int = field(default=30, metadata={"env": "REFRESH_REUSE_GRACE_S"})
    max_json_bytes: int = field(default=1_048_576, metadata={"env": "MAX_JSON_BYTES"})

    # --- data ----------------------------------------------------------------------
    data_dir: str = field(default=str(PROJECT_ROOT / "data"), metadata={"env": "DATA_DIR"})
    database_url: str = field(default="", metadata={"env": "DATABASE_URL"})
    sqlite_path: str = field(default="", metadata={"env": "SQLITE_PATH"})
    redis_url: str = field(default="redis://127.0.0.1:6390/0", metadata={"env": "REDIS_URL"})

    # --- storage -------------------------------------------------------------------
    storage_backend: str = field(default="local", metadata={"env": "STORAGE_BACKEND"})
    storage_dir: str = field(default="", metadata={"env": "STORAGE_DIR"})
    public_base_url: str = field(default="", metadata={"env": "PUBLIC_BASE_URL"})
    signed_url_ttl_s: int = field(default=3600, metadata={"env": "SIGNED_URL_TTL_S"})
    # "aliases": the AWS SDKs' own names, read (in this order) when the S3_* name is unset.
    s3_endpoint_url: str = field(
        default="", metadata={"env": "S3_ENDPOINT_URL", "aliases": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")}
    )
    s3_bucket: str = field(default="framewise", metadata={"env": "S3_BUCKET"})
    s3_region: str = field(
        default="us-east-1", metadata={"env": "S3_REGION", "aliases": ("AWS_REGION", "AWS_DEFAULT_REGION")}
    )
    s3_access_key_id: str = field(default="", metadata={"env": "S3_ACCESS_KEY_ID", "aliases": ("AWS_ACCESS_KEY_ID",)})
    s3_secret_access_key: str = field(
        default="", metadata={"env": "S3_SECRET_ACCESS_KEY", "aliases": ("AWS_SECRET_ACCESS_KEY",)}
    )
    s3_public_endpoint_url: str = field(default="", metadata={"env": "S3_PUBLIC_ENDPOINT_URL"})

    # --- jobs ----------------------------------------------------------------------
    enqueue_retries: int = field(default=3, metadata={"env": "ENQUEUE_RETRIES"})
    enqueue_backoff_s: float = field(default=0.2, metadata={"env": "ENQUEUE_BACKOFF_S"})
    job_max_attempts: int = field(default=3, metadata={"env": "JOB_MAX_ATTEMPTS"})
    job_heartbeat_s: int = field(default=10, metadata={"env": "JOB_HEARTBEAT_S"})
    reconcile_interval_s: int = field(default=30, metadata={"env": "RECONCILE_INTERVAL_S"})
    stale_queued_s: int = field(default=60, metadata={"env": "STALE_QUEUED_S"})
    job_lost_after_s: int = field(default=45, metadata={"env": "JOB_LOST_AFTER_S"})
    job_retry_backoff_s: int = field(default=10, metadata={"env": "JOB_RETRY_BACKOFF_S"})
    purge_interval_s: int = field(default=3600, metadata={"env": "PURGE_INTERVAL_S"})
    job_modules: list[str] = field(default_factory=list, metadata={"env": "JOB_MODULES"})
    video_job_timeout_s: int = field(default=1800, metadata={"env": "VIDEO_JOB_TIMEOUT_S"})
    llm_job_timeout_s: int = field(default=900, metadata={"env": "LLM_JOB_TIMEOUT_S"})
    purge_retention_h: int = field(default=720, metadata={"env": "PURGE_RETENTION_H"})
    # Fair scheduling: how many of one user's jobs may sit on one RQ queue (waiting or running) at
    # once; the rest wait as `queued` rows and are released as those finish (0: no per-user limit).
    user_job_slots: int = field(default=1, metadata={"env": "USER_JOB_SLOTS"})
    # Each worker's own /live and /ready (backend_app/jobs/health.py); 0: none.
    worker_health_port: int = field(default=8080, metadata={"env": "WORKER_HEALTH_PORT"})
    worker_health_host: str = field(default="127.0.0.1", metadata={"env": "WORKER_HEALTH_HOST"})

    # --- per-user quotas (an admin can raise or lower them per user) ------------------
    user_storage_bytes: int = field(default=21_474_836_480, metadata={"env": "USER_STORAGE_BYTES"})
    user_uploads_per_hour: int = field(default=30, metadata={"env": "USER_UPLOADS_PER_HOUR"})
    user_concurrent_jobs: int = field(default=10, metadata={"env": "USER_CONCURRENT_JOBS"})

    # --- video limits --------------------------------------------------------------
    max_upload_bytes: int = field(default=2_147_483_648, metadata={"env": "MAX_UPLOAD_BYTES"})
    max_video_duration_s: float = field(default=3600.0, metadata={"env": "MAX_VIDEO_DURATION_S"})
    max_video_pixels: int = field(default=3840 * 2160, metadata={"env": "MAX_VIDEO_PIXELS"})
    max_video_frames: int = field(default=600_000, metadata={"env": "MAX_VIDEO_FRAMES"})
    video_sample_stride: int = field(default=2, metadata={"env": "VIDEO_SAMPLE_STRIDE"})
    video_ai_max_keyframes: int = field(default=6, metadata={"env": "VIDEO_AI_MAX_KEYFRAMES"})
    video_preview: bool = field(default=True, metadata={"env": "VIDEO_PREVIEW"})
    video_preview_height: int = field(default=360, metadata={"env": "VIDEO_PREVIEW_HEIGHT"})
    video_preview_copy: bool = field(default=True, metadata={"env": "VIDEO_PREVIEW_COPY"})
    # The AI analysers that run on each video (services/video/analysers.py); "none" for none.
    analysers: list[str] = field(default_factory=lambda: list(DEFAULT_ANALYSERS), metadata={"env": "ANALYSERS"})
    # Each analyser's CPU budget per minute of video: it samples fewer frames rather than run past it.
    analyser_budget_s_per_min: float = field(default=30.0, metadata={"env": "ANALYSER_BUDGET_S_PER_MIN"})
    # The spoken language of the videos ("en", "de", …); empty: detected per passage of speech.
    speech_language: str = field(default="", metadata={"env": "SPEECH_LANGUAGE"})
    # An OpenAI-compatible /v1/audio/transcriptions endpoint (a faster-whisper server, OpenAI)
    # used by the openai provider instead of the local model; empty: the local model.
    transcription_base_url: str = field(default="", metadata={"env": "TRANSCRIPTION_BASE_URL"})
    transcription_model: str = field(default="whisper-1", metadata={"env": "TRANSCRIPTION_MODEL"})
    transcription_api_key: str = field(default="", metadata={"env": "TRANSCRIPTION_API_KEY"})
    pipeline_check_ttl_s: int = field(default=300, metadata={"env": "PIPELINE_CHECK_TTL_S"})
    upload_allowed_types: list[str] = field(
        default_factory=lambda: [
            "video/mp4",
            "video/quicktime",
            "video/x-m4v",
            "video/webm",
            "video/x-matroska",
            "video/x-msvideo",
            "video/avi",
            "video/mp2t",
            "video/mpeg",
            "video/3gpp",
            "video/x-ms-asf",
            "video/ogg",
            "video/x-flv",
        ],
        metadata={"env": "UPLOAD_ALLOWED_TYPES"},
    )

    # --- document limits -----------------------------------------------------------
    max_document_bytes: int = field(default=104_857_600, metadata={"env": "MAX_DOCUMENT_BYTES"})
    max_document_pages: int = field(default=2000, metadata={"env": "MAX_DOCUMENT_PAGES"})
    max_document_unzipped_bytes: int = field(default=268_435_456, metadata={"env": "MAX_DOCUMENT_UNZIPPED_BYTES"})
    document_job_timeout_s: int = field(default=1800, metadata={"env": "DOCUMENT_JOB_TIMEOUT_S"})

    # --- AI ------------------------------------------------------------------------
    # Unset (empty / None): see effective_ai_provider for how MOCK_MODE and the key decide.
    ai_provider: str = field(default="", metadata={"env": "AI_PROVIDER"})
    mock_mode: bool | None = field(default=None, metadata={"env": "MOCK_MODE"})
    openai_api_key: str = field(default="", metadata={"env": "OPENAI_API_KEY"})
    openai_base_url: str = field(default="", metadata={"env": "OPENAI_BASE_URL"})
    openai_model: str = field(default="gpt-4o-mini", metadata={"env": "OPENAI_MODEL"})
    openai_vision_model: str = field(default="gpt-4o-mini", metadata={"env": "OPENAI_VISION_MODEL"})
    openai_timeout_s: float = field(default=60.0, metadata={"env": "OPENAI_TIMEOUT_S"})
    llm_cache_ttl_s: int = field(default=86_400, metadata={"env": "LLM_CACHE_TTL_S"})
    # Every call is bounded: tokens per use, a total deadline (retries and waits for a slot
    # included), and calls in flight at once across the web and worker processes.
    llm_max_tokens_chat: int = field(default=700, metadata={"env": "LLM_MAX_TOKENS_CHAT"})
    llm_max_tokens_json: int = field(default=1500, metadata={"env": "LLM_MAX_TOKENS_JSON"})
    llm_max_tokens_describe: int = field(default=900, metadata={"env": "LLM_MAX_TOKENS_DESCRIBE"})
    llm_max_tokens_study: int = field(default=4000, metadata={"env": "LLM_MAX_TOKENS_STUDY"})
    llm_deadline_s: float = field(default=120.0, metadata={"env": "LLM_DEADLINE_S"})
    llm_max_concurrency: int = field(default=4, metadata={"env": "LLM_MAX_CONCURRENCY"})
    # A worker asks the endpoint at start what it serves (models, slots, JSON mode, tool calls:
    # two one-token calls); /health only lists its models.
    llm_probe: bool = field(default=True, metadata={"env": "LLM_PROBE"})
    monthly_budget_usd: float = field(default=10.0, metadata={"env": "MONTHLY_BUDGET_USD"})

    # --- chat ----------------------------------------------------------------------
    chat_top_k: int = field(default=5, metadata={"env": "CHAT_TOP_K"})
    chat_max_message_chars: int = field(default=2000, metadata={"env": "CHAT_MAX_MESSAGE_CHARS"})
    # The openai provider answers with tools over the analysis facts; off: the offline layer's
    # facts go into the prompt instead (for small local models that call tools poorly).
    chat_tools: bool = field(default=True, metadata={"env": "CHAT_TOOLS"})

    # --- requirements --------------------------------------------------------------
    batch_size: int = field(default=50, metadata={"env": "BATCH_SIZE"})
    max_parallel: int = field(default=4, metadata={"env": "MAX_PARALLEL"})
    max_batch_rows: int = field(default=10_000, metadata={"env": "MAX_BATCH_ROWS"})
    # The original system's default table for the batch endpoints; a sample ships there.
    requirements_md_path: str = field(
        default=str(PROJECT_ROOT / "docs" / "requirements.md"), metadata={"env": "REQUIREMENTS_MD_PATH"}
    )
    # A single (synchronous) v2 evaluation, suggestion or rewrite gets this long, in seconds, for its
    # model calls in all; past it the rule engine answers (X-Variant: v1, X-Variant-Reason: v2-timeout).
    v2_deadline_s: float = field(default=2.0, metadata={"env": "V2_DEADLINE_S"})

    # --- flags ---------------------------------------------------------------------
    # Operator pins: when set, they win over the stored use_v2 flag at every start and the flag's
    # pinned fields cannot be changed through the UI/API (services/flags/pins.py). None: unset.
    feature_flag_use_v2: bool | None = field(default=None, metadata={"env": "FEATURE_FLAG_USE_V2"})
    canary_percent: int | None = field(default=None, metadata={"env": "CANARY_PERCENT"})
    guard_error_rate: float = field(default=0.2, metadata={"env": "GUARD_ERROR_RATE"})
    guard_min_samples: int = field(default=20, metadata={"env": "GUARD_MIN_SAMPLES"})
    guard_window_s: int = field(default=300, metadata={"env": "GUARD_WINDOW_S"})

    # --- first admin (make run) ----------------------------------------------------
    admin_email: str = field(default="admin@framewise.local", metadata={"env": "ADMIN_EMAIL"})
    admin_password: str = field(default="", metadata={"env": "ADMIN_PASSWORD"})

    # ---------------------------------------------------------------------------------
    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def effective_ai_provider(self) -> str:
        """The provider that runs. AI_PROVIDER, when set, decides; otherwise MOCK_MODE does, as in
        the original system: true is offline, false with OPENAI_API_KEY is openai. With neither set
        (or MOCK_MODE=false and no key) it is offline: a key alone never starts paid calls."""
        if self.ai_provider:
            return self.ai_provider
        if self.mock_mode is False and self.openai_api_key:
            return "openai"
        return "offline"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://") :]
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        path = self.sqlite_path or str(Path(self.data_dir) / "framewise.db")
        return f"sqlite:///{path}"

    @property
    def storage_root(self) -> str:
        return self.storage_dir or str(Path(self.data_dir) / "storage")

    def public_dict(self) -> dict[str, Any]:
        """Settings that are safe to show an admin (no secrets)."""
        hidden = {
            "secret_key",
            "jwt_secret_key",
            "openai_api_key",
            "transcription_api_key",
            "s3_secret_access_key",
            "s3_access_key_id",
            "admin_password",
            "database_url",
            "redis_url",
        }
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
        return {**shown, "ai_provider": self.effective_ai_provider}

    def client_dict(self) -> dict[str, Any]:
        """What any signed-in user may read: the limits and behaviour a client works with.
        Not where the deployment keeps its files, who its admin is or which endpoints it calls."""
        return {name: getattr(self, name) for name in CLIENT_SETTINGS} | {"ai_provider": self.effective_ai_provider}

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


CLIENT_SETTINGS = (
    "ai_provider",
    "access_token_minutes",
    "refresh_token_days",
    "api_key_rate_limit",
    "max_json_bytes",
    "max_upload_bytes",
    "upload_allowed_types",
    "max_video_duration_s",
    "max_video_pixels",
    "max_video_frames",
    "max_document_bytes",
    "max_document_pages",
    "signed_url_ttl_s",
    "video_sample_stride",
    "chat_max_message_chars",
    "chat_top_k",
    "batch_size",
    "max_batch_rows",
    "monthly_budget_usd",
    "purge_retention_h",
    "canary_percent",
    "guard_error_rate",
    "guard_min_samples",
    "guard_window_s",
)


def _parse(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    kind = kind.removesuffix(" | None")  # None is what an unset variable leaves
    if kind == "bool":
        return _bool(raw)
    if kind == "int":
        return int(raw.strip())
    if kind == "float":
        return float(raw.strip())
    if kind == "list[str]":
        return _list(raw)
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment (or a given mapping), then apply overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = next((n for n in (f.metadata["env"], *f.metadata.get("aliases", ())) if env.get(n, "") != ""), None)
        if name is not None:
            try:
                values[f.name] = _parse(f, env[name])
            except ValueError as exc:
                raise SettingsError(f"{name}: {exc}") from None
    values.update(overrides)
    production = values.get("app_env", Settings.app_env) == "production"
    values.setdefault("cookie_secure", production)  # behind TLS in production unless told otherwise
    if not production:
        _generated_secrets(values)
    settings = Settings(**values)
    validate(settings)
    return settings


def _generated_secrets(values: dict[str, Any]) -> None:
    """Fill unset secrets from the data folder's generated ones (created on the first start)."""
    names = {"secret_key": "SECRET_KEY", "jwt_secret_key": "JWT_SECRET_KEY"}
    if all(values.get(name) for name in names):
        return
    data_dir = values.get("data_dir") or Settings.data_dir
    try:
        generated = local_secrets.load_or_create(data_dir)
    except (OSError, local_secrets.SecretsFileError) as exc:
        raise SettingsError(
            f"SECRET_KEY/JWT_SECRET_KEY are unset and the generated ones cannot be used: {exc}"
        ) from None
    for name, env_name in names.items():
        if not values.get(name):
            values[name] = generated[env_name]


# Numbers that may be 0 (off, none, no wait); every other number must be above 0. None is negative,
# infinite or NaN: PURGE_RETENTION_H=0 or -1 would purge every analysis at the next purge.
MAY_BE_ZERO = {
    "llm_cache_ttl_s",
    "monthly_budget_usd",
    "enqueue_retries",
    "enqueue_backoff_s",
    "job_retry_backoff_s",
    "video_ai_max_keyframes",
    "pipeline_check_ttl_s",
    "canary_percent",
    "user_job_slots",
    "refresh_reuse_grace_s",
    "worker_health_port",
}
LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}


def _number_problems(settings: Settings) -> list[str]:
    problems = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = f.metadata["env"]
        if not math.isfinite(value):
            problems.append(f"{name} must be a finite number")
        elif f.name in MAY_BE_ZERO and value < 0:
            problems.append(f"{name} must be 0 or more")
        elif f.name not in MAY_BE_ZERO and value <= 0:
            problems.append(f"{name} must be above 0")
    if settings.api_port > 65535:
        problems.append("API_PORT must be a TCP port (1 to 65535)")
    if settings.worker_health_port > 65535:
        problems.append("WORKER_HEALTH_PORT must be a TCP port (1 to 65535), or 0 for none")
    if not 144 <= settings.video_preview_height <= 720:
        problems.append("VIDEO_PREVIEW_HEIGHT must be from 144 to 720 (the preview is at most 720p)")
    unknown = [name for name in settings.analysers if name not in (*KNOWN_ANALYSERS, "none")]
    if unknown:
        problems.append(f"ANALYSERS has unknown names {unknown}: choose from {', '.join(KNOWN_ANALYSERS)} (or none)")
    if "none" in settings.analysers and len(settings.analysers) > 1:
        problems.append("ANALYSERS=none cannot be combined with analyser names")
    if settings.analyser_budget_s_per_min <= 0:
        problems.append("ANALYSER_BUDGET_S_PER_MIN must be above 0")
    if settings.speech_language and not re.fullmatch(r"[a-z]{2,3}", settings.speech_language):
        problems.append("SPEECH_LANGUAGE must be a language code such as en or de (or empty: detected)")
    return problems


def _text_problems(settings: Settings) -> list[str]:
    from limits import parse_many

    problems = []
    if settings.log_level.upper() not in LOG_LEVELS:
        problems.append("LOG_LEVEL must be one of " + ", ".join(sorted(LOG_LEVELS)))
    try:
        parse_many(settings.login_rate_limit)
    except ValueError:
        problems.append(
            f"LOGIN_RATE_LIMIT is not a rate such as '10 per minute': {settings.login_rate_limit!r} "
            "(a rate that cannot be read would turn the login limit off)"
        )
    try:
        parse_many(settings.api_key_rate_limit)
    except ValueError:
        problems.append(f"API_KEY_RATE_LIMIT is not a rate such as '300 per minute': {settings.api_key_rate_limit!r}")
    scheme = settings.database_url.split(":", 1)[0].split("+", 1)[0].lower()
    if settings.database_url and scheme not in {"sqlite", "postgresql", "postgres"}:
        problems.append("DATABASE_URL must be a sqlite:// or postgresql:// URL (or empty for SQLITE_PATH)")
    if settings.redis_url.split("://", 1)[0].lower() not in {"redis", "rediss", "unix"}:
        problems.append("REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return problems


# SHA-256 of secrets that were once published (the old built-in development default): a signing
# key anyone can read signs anyone's tokens, so it is refused wherever it is configured.
PUBLISHED_SECRETS = {"9d23fe157bd9e1141a33489125c5da665a60ea12b09c354133dbc5b6ce32823f"}


def _secret_problems(settings: Settings) -> list[str]:
    problems = []
    for name, value in (("SECRET_KEY", settings.secret_key), ("JWT_SECRET_KEY", settings.jwt_secret_key)):
        if hashlib.sha256(value.encode()).hexdigest() in PUBLISHED_SECRETS:
            problems.append(f"{name} is a published development default; unset it (one is generated) or set your own")
        elif settings.is_production and len(value) < 32:
            problems.append(f"{name} must be set to a strong value (32+ characters) in production")
    return problems


def validate(settings: Settings) -> None:
    """Fail fast on values the app cannot run with."""
    problems = _number_problems(settings) + _text_problems(settings)
    if settings.app_env not in {"development", "production", "test"}:
        problems.append("APP_ENV must be development, production or test")
    if settings.storage_backend not in {"local", "s3"}:
        problems.append("STORAGE_BACKEND must be local or s3")
    if settings.effective_ai_provider not in {"offline", "openai"}:
        problems.append("AI_PROVIDER must be offline or openai")
    if settings.canary_percent is not None and settings.canary_percent > 100:
        problems.append("CANARY_PERCENT must be between 0 and 100")
    if settings.job_lost_after_s <= settings.job_heartbeat_s:
        problems.append("JOB_LOST_AFTER_S must be longer than JOB_HEARTBEAT_S (a few heartbeats)")
    if settings.chat_top_k > 50:
        problems.append("CHAT_TOP_K must be at most 50")
    if not 0 < settings.guard_error_rate <= 1 or settings.guard_min_samples < 1 or settings.guard_window_s < 1:
        problems.append(
            "GUARD_ERROR_RATE must be above 0 and at most 1, GUARD_MIN_SAMPLES and GUARD_WINDOW_S "
            "at least 1 (otherwise the canary guard could never trip)"
        )
    problems += _secret_problems(settings)
    if problems:
        raise SettingsError("; ".join(problems))


def quiet_native_logs() -> None:
    """Default the environment variable OpenCV reads for the FFmpeg inside it to quiet.

    OpenCV's FFmpeg writes its complaints about damaged or foreign files straight to stderr,
    as plain text between the one-JSON-object-a-line logs; what it complains about reaches the
    user as a coded failure or a report warning instead. OpenCV reads the variable at its first
    VideoCapture; an operator who sets it (32 shows FFmpeg's messages) keeps theirs.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


def transcriber_environment() -> dict[str, str]:
    """The transcriber process's environment (adapters/ai/whisper_server.py): this one's, with
    CTranslate2's OpenMP threads (libgomp) sleeping when they wait instead of spinning. On two
    cores shared with the decode pass a spinning thread takes CPU from it. libgomp reads the
    variable when it loads, so it is set for the child, not in it; an operator's own is kept."""
    return {"OMP_WAIT_POLICY": "PASSIVE", **os.environ}
