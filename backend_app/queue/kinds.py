"""Job kinds: which queue each runs on, its hard time limit and its handler.

A kind is ``resumable`` when a run keeps what it finished (a batch stores each row as it is done,
and the next run does only the rest): such a run stopped at its hard time limit is retried while
attempts are left, because every attempt gets further. Any other kind fails at its time limit, as
running the same work again from the start would end the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from flask import current_app


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str
    handler: str  # "module:function", imported lazily so the web process never loads cv2
    timeout_setting: str | None = None  # a Settings field holding the hard limit in seconds
    default_timeout_s: int = 300
    resumable: bool = False  # a run keeps its progress: a timed-out run is retried (see above)

    def timeout_s(self) -> int:
        if self.timeout_setting:
            return int(getattr(current_app.config["SETTINGS"], self.timeout_setting))
        return self.default_timeout_s

    def load(self) -> Callable:
        module, func = self.handler.split(":")
        return getattr(import_module(module), func)


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def load_modules(names: list[str]) -> None:
    """Import modules that register extra job kinds (JOB_MODULES), e.g. test-only kinds."""
    for name in names:
        import_module(name)


def get(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None


# Every job kind, declared here so the web process can enqueue any of them without importing
# the handler (which may pull in cv2). Handlers live in one module per job family.
register(JobKind("selftest", "default", "backend_app.jobs.maintenance:selftest", default_timeout_s=60))
register(JobKind("video_analysis", "video", "backend_app.jobs.video:analyse", "video_job_timeout_s"))
register(
    JobKind("requirements_batch", "llm", "backend_app.jobs.requirements:run_batch", "llm_job_timeout_s", resumable=True)
)
register(JobKind("document_extraction", "video", "backend_app.jobs.documents:extract", "document_job_timeout_s"))
register(JobKind("study", "llm", "backend_app.jobs.study:make", "llm_job_timeout_s"))
register(JobKind("purge", "default", "backend_app.jobs.maintenance:purge", default_timeout_s=600))
