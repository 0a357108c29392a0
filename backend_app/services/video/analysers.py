"""Which AI analysers run, and running them beside the decode pass without letting one sink a job.

``ANALYSERS`` names them (default: speech, text, faces; opt-in: pose, nsfw). An analyser whose
packages are missing is "not installed": /health and the report say so and the analysis goes on
without it. One that fails on a video is "failed" with its reason in the report; the rest of the
analysis stands. Models load once per worker in ``warm`` (before the horses fork, shared
copy-on-write), never per job.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from importlib import import_module

from backend_app.adapters.ai.base import Analyser, AnalyserInfo, Context

log = logging.getLogger(__name__)

# name -> the adapter module that implements it (INFO, warm(), Run)
MODULES = {  # in KNOWN_ANALYSERS' order
    "speech": "backend_app.adapters.ai.speech",
    "text": "backend_app.adapters.ai.ocr",
    "faces": "backend_app.adapters.ai.faces",
    "pose": "backend_app.adapters.ai.pose",
    "nsfw": "backend_app.adapters.ai.nsfw",
}


def selected(settings) -> list[str]:
    """The names in ``ANALYSERS`` (``none`` alone: no analyser; an empty variable is unset)."""
    return [name for name in settings.analysers if name != "none"]


def _module(name: str):
    return import_module(MODULES[name])


def info(name: str) -> AnalyserInfo | None:
    """The analyser's declared facts, or None when its module is not part of this build."""
    try:
        return _module(name).INFO
    except ModuleNotFoundError as exc:
        if exc.name == MODULES[name]:
            return None
        raise


def status(name: str, settings) -> dict:
    """``{name, enabled, state, reason, …INFO}`` with state ready | not_installed | disabled | not_built."""
    enabled = name in selected(settings)
    facts = info(name)
    if facts is None:
        return {"name": name, "enabled": enabled, "state": "not_built", "reason": "not part of this build"}
    missing = facts.missing()
    row = {
        "name": name,
        "enabled": enabled,
        "input": facts.input,
        "summary": facts.summary,
        "cost": facts.cost,
        "licence": facts.licence,
        "requirements": facts.requirements,
        "size_mb": facts.size_mb,
    }
    if missing:
        reason = f"not installed: {', '.join(missing)} (pip install -r {facts.requirements})"
        return {**row, "state": "not_installed", "reason": reason}
    if not enabled:
        return {**row, "state": "disabled", "reason": "not in ANALYSERS"}
    return {**row, "state": "ready", "reason": ""}


def statuses(settings) -> list[dict]:
    return [status(name, settings) for name in MODULES]


def runnable(settings) -> list[str]:
    return [name for name in selected(settings) if name in MODULES and status(name, settings)["state"] == "ready"]


def warm(settings) -> None:
    """Load each enabled, installed analyser's model in this process (the worker, before forking)."""
    for name in runnable(settings):
        started = time.perf_counter()
        try:
            _module(name).warm()
        except Exception:  # the job reports it as failed; the worker still starts
            log.exception("analyser %s could not load its model", name)
            continue
        log.info("analyser %s ready in %.2f s", name, time.perf_counter() - started)


@dataclass
class _Slot:
    name: str
    run: Analyser | None
    state: str = "ran"
    reason: str = ""
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Runs:
    """This video's analyser runs: the pipeline feeds them and collects their report parts.

    Every call into an analyser is timed and guarded: an exception marks that analyser failed
    (logged, its reason in the report) and it gets nothing more; the others and the analysis go on.
    """

    def __init__(self, settings, ctx: Context):
        self.slots: list[_Slot] = []
        self.skipped: list[dict] = []
        for row in statuses(settings):
            if not row["enabled"]:
                continue
            if row["state"] != "ready":
                self.skipped.append({"name": row["name"], "state": row["state"], "reason": row["reason"]})
                continue
            slot = _Slot(row["name"], None)
            self._call(slot, lambda s=slot: setattr(s, "run", _module(s.name).Run(ctx)))
            self.slots.append(slot)

    @property
    def wants_frames(self) -> bool:
        return any(s.run is not None and s.state == "ran" and s.run.wants_frames for s in self.slots)

    def keyframe(self, shot: int, start_s: float, end_s: float, picture) -> None:
        for slot in self._live():
            self._call(slot, lambda r=slot.run: r.keyframe(shot, start_s, end_s, picture))

    def frame(self, t: float, picture) -> None:
        for slot in self._live():
            if slot.run.wants_frames:
                self._call(slot, lambda r=slot.run: r.frame(t, picture))

    def finish(self, shots: list[dict]) -> tuple[dict, list[dict], dict[str, float]]:
        """(report parts merged, one status row per analyser, seconds per analyser)."""
        parts: dict = {}
        for slot in self._live():
            found: dict = {}
            self._call(slot, lambda r=slot.run, into=found: into.update(r.finish(shots) or {}))
            if slot.state == "ran":
                parts.update(found)
        rows = [
            {"name": s.name, "state": s.state, "reason": s.reason, "seconds": round(s.seconds, 3)} for s in self.slots
        ]
        return parts, rows + self.skipped, {f"analyser_{s.name}": round(s.seconds, 4) for s in self.slots}

    def close(self) -> None:
        for slot in self._live():
            try:
                slot.run.close()
            except Exception:
                log.exception("analyser %s did not close cleanly", slot.name)

    def _live(self) -> list[_Slot]:
        return [s for s in self.slots if s.run is not None and s.state == "ran"]

    def _call(self, slot: _Slot, fn) -> None:
        with slot.lock:
            if slot.state != "ran":
                return
            started = time.perf_counter()
            try:
                fn()
            except Exception as exc:
                slot.state, slot.reason = "failed", f"{type(exc).__name__}: {exc}"[:300]
                log.exception("analyser %s failed", slot.name)
            finally:
                slot.seconds += time.perf_counter() - started
