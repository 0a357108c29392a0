"""GET /health/analysis-pipeline: a tiny generated video through the real pipeline, in-process.

No storage, queue or database is involved; the offline describer is used. The result (with
each stage's time) is cached in Redis for PIPELINE_CHECK_TTL_S so probes stay cheap.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from backend_app.extensions import redis_store
from backend_app.models.base import iso, utcnow
from backend_app.queue.errors import JobFailure
from backend_app.services.video.workdir import temp_root

log = logging.getLogger(__name__)
CACHE_KEY = "framewise:health:analysis-pipeline"


def _cached() -> dict | None:
    try:
        raw = redis_store.conn.get(CACHE_KEY)
    except RedisError:
        return None
    return json.loads(raw) if raw else None


def _store(result: dict, ttl_s: int) -> None:
    try:
        redis_store.conn.set(CACHE_KEY, json.dumps(result), ex=max(1, ttl_s))
    except RedisError:
        log.warning("pipeline check result not cached: Redis unavailable")


def run_pipeline_once(settings) -> dict[str, Any]:
    """Generate the clip, run every stage, compare with what the clip contains."""
    from backend_app.adapters.vision.synthetic import write_check_clip
    from backend_app.services.video.pipeline import analyse_file, describe_and_report

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pipeline-check-", dir=temp_root(settings)) as workdir:
        path = os.path.join(workdir, "check.mp4")
        expected = write_check_clip(path)
        # The AI analysers stay out: a web process would load their models (the speech model's
        # transcriber process) for a check of cuts and QR codes; /health lists their states.
        out = analyse_file(path, workdir, settings.replace(video_sample_stride=1, analysers=["none"]))
        report = describe_and_report(out, settings.replace(ai_provider="offline"), user_id=None)
    found_qr = expected["qr_text"] in report["summary"]["qr_codes"]
    cuts = report["analysis"]["cut_frames"]
    ok = cuts == expected["cut_frames"] and found_qr and report["metadata"]["frame_count"] == expected["frames"]
    return {
        "ok": ok,
        "stages": report["timings"],
        "total_s": round(time.perf_counter() - started, 4),
        "expected": {
            "cut_frames": expected["cut_frames"],
            "qr_text": expected["qr_text"],
            "frames": expected["frames"],
        },
        "found": {
            "cut_frames": cuts,
            "qr_found": found_qr,
            "frames": report["metadata"]["frame_count"],
            "shots": len(report["shots"]),
        },
    }


def check(force: bool = False) -> tuple[bool, dict[str, Any]]:
    """The cached result, or a fresh run; never raises (a crash is a failed check with its reason)."""
    settings = current_app.config["SETTINGS"]
    if not force and (hit := _cached()):
        return bool(hit.get("ok")), {**hit, "cached": True}
    try:
        result = run_pipeline_once(settings)
    except JobFailure as failure:  # a coded refusal: the pipeline said why
        log.warning("analysis pipeline check failed", extra={"error_code": failure.code})
        result = {"ok": False, "error": f"{failure.code}: {failure.message}"[:500], "stages": {}}
    except Exception as exc:
        log.exception("analysis pipeline check failed")
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500], "stages": {}}
    result["checked_at"] = iso(utcnow())
    _store(result, settings.pipeline_check_ttl_s)
    return bool(result["ok"]), {**result, "cached": False}
