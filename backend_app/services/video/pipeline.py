"""The analysis pipeline in-process, on a local file: probe → decode → audio → keyframes → describe → report.

No storage, no queue, no database: the use case (services/video/analyse.py) wraps it with
fetching, storing and indexing; /health/analysis-pipeline runs it as it is on a tiny generated video.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from backend_app.adapters import vision
from backend_app.adapters.ai.base import Context as AnalyserContext
from backend_app.adapters.vision import keyframes as kf
from backend_app.adapters.vision import preview as rendition
from backend_app.observability import carrying_log_ids
from backend_app.queue.errors import JobFailure
from backend_app.services.video import analysers
from backend_app.services.video import describe as describer
from backend_app.services.video.output import PipelineOutput
from backend_app.services.video.report import build_report, partial_decode_warning, shot_dicts

log = logging.getLogger(__name__)
StageFn = Callable[[str, float], None]  # (stage, percent of the whole job)
KEYFRAMES_IN_FLIGHT = 4  # keyframe pictures (each at most 960 px, ~1.5 MB) waiting to be inspected
# The inspecting thread's nice value above the job's: decoding is the pass's critical path and
# inspection has time until the pass ends, so when both want a core the decoder gets it (2 cores,
# 360p minute: 1.12 -> 1.05 s a job, median of 8; 720p and 1080p ~1 % less).
INSPECT_NICENESS = 5


def warm(settings=None) -> None:
    """Load what keyframe inspection reads (keyframes.warm) and the enabled analysers' models,
    once, before a worker's horses fork."""
    kf.warm()
    if settings is not None:
        analysers.warm(settings)


def limits_from(settings) -> vision.Limits:
    return vision.Limits(
        max_duration_s=settings.max_video_duration_s,
        max_pixels=settings.max_video_pixels,
        max_frames=settings.max_video_frames,
    )


class _Clock:
    def __init__(self, on_stage: StageFn | None):
        self.on_stage, self.timings = on_stage, {}

    def stage(self, name: str, percent: float):
        if self.on_stage:
            self.on_stage(name, percent)
        started = time.perf_counter()
        clock = self

        class _Timer:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                clock.timings[name] = round(time.perf_counter() - started, 4)
                return False

        return _Timer()


def analyse_file(
    path: str,
    workdir: str,
    settings,
    *,
    on_stage: StageFn | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> PipelineOutput:
    """Probe, decode once and look at the keyframes of ``path``; files go under ``workdir``.

    Each shot's keyframe picture is inspected (faces, QR, colours, thumbnail, contact-sheet tile)
    on a second thread as soon as the decode pass closes the shot, so that work overlaps decoding;
    the "keyframes" stage is what is left of it after the pass, plus the contact sheet. The
    pictures go to the inspecting thread in memory; at most KEYFRAMES_IN_FLIGHT wait for it (the
    pass waits for a free place), so a video with many short shots does not pile them up.
    A source browsers cannot play gets its preview rendition from the same pass (``_preview``).
    """
    clock = _Clock(on_stage)
    limits = limits_from(settings)
    os.makedirs(workdir, exist_ok=True)
    with clock.stage("probe", 12), _refused_as_job_failure():
        meta = vision.probe(path, limits)
    runs = analysers.Runs(settings, _analyser_context(path, workdir, meta, settings))
    pool = ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="keyframes", initializer=carrying_log_ids(_yield_to_decoding)
    )
    places = threading.BoundedSemaphore(KEYFRAMES_IN_FLIGHT)
    inspections: dict[int, tuple[str, Future]] = {}

    def inspect(record: vision.ShotRecord, picture, thumb: str) -> tuple[dict, bytes]:
        runs.keyframe(record.index, record.start_frame / meta.fps, (record.end_frame + 1) / meta.fps, picture)
        return kf.inspect(picture, thumb), kf.tile_jpeg(picture)

    def inspect_soon(record: vision.ShotRecord, picture) -> None:
        if picture is None:
            return
        thumb = os.path.join(workdir, f"thumb_{record.index}.jpg")
        places.acquire()
        found = pool.submit(inspect, record, picture, thumb)
        found.add_done_callback(lambda _done: places.release())
        inspections[record.index] = (thumb, found)

    try:
        with clock.stage("decode", 15), _refused_as_job_failure():

            def progress(done: int, total: int) -> None:
                if on_progress and total:
                    on_progress(min(1.0, done / total))

            writer = _preview(path, workdir, meta, settings)
            try:
                passed = vision.decode_pass(
                    path,
                    meta,
                    limits,
                    stride=settings.video_sample_stride,
                    on_progress=progress,
                    on_shot=inspect_soon,
                    preview=writer,
                    # where the picture holds still, its picture for the analysers that read text
                    on_still=runs.frame if runs.wants_frames else None,
                )
            except BaseException:
                if writer is not None:
                    writer.close(keep=False)
                raise
            made = writer.close() if writer is not None else None
            if made is not None and made.copied and (passed.damaged_packets or partial_decode_warning(meta, passed)):
                made = _encoded_instead(made, path, workdir, meta, settings)
        with clock.stage("audio", 72):  # ~0.2 s for a minute of stereo AAC, while keyframes are inspected
            audio = vision.audio_track(path)
        with clock.stage("keyframes", 75):
            shots = shot_dicts(passed, meta.fps)
            thumbs: dict[int, str] = {}
            tiles: dict[int, bytes] = {}
            for shot in shots:
                if shot["index"] in inspections:
                    thumbs[shot["index"]], found = inspections[shot["index"]]
                    findings, tiles[shot["index"]] = found.result()
                    shot.update(findings)
            sheet = make_contact_sheet(shots, tiles, workdir)
        with clock.stage("analysers", 78):  # what the analysers still have to do after the pass
            found, ran, analyser_timings = runs.finish(shots)
    except BaseException:
        runs.close()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    clock.timings.update(analyser_timings)
    if made is not None:
        # inside the decode stage, on the preview's own thread
        clock.timings["preview_copy" if made.copied else "preview_encode"] = made.encode_s
    return PipelineOutput(
        meta=meta,
        passed=passed,
        shots=shots,
        thumbs=thumbs,
        contact_sheet=sheet,
        preview=made.path if made is not None else None,
        timings=clock.timings,
        audio=audio,
        found=found,
        analysers=ran,
    )


def _analyser_context(path: str, workdir: str, meta: vision.VideoMetadata, settings) -> AnalyserContext:
    return AnalyserContext(
        path=path,
        workdir=workdir,
        duration_s=meta.duration_s,
        fps=meta.fps,
        width=meta.width,
        height=meta.height,
        budget_s=settings.analyser_budget_s_per_min * max(1.0, meta.duration_s / 60),
        language=settings.speech_language or None,
        settings=settings,
    )


def _preview(path: str, workdir: str, meta: vision.VideoMetadata, settings) -> rendition.Preview | None:
    """A preview (copied or encoded) when previews are on and browsers cannot play the source as it is."""
    if not settings.video_preview:
        return None
    try:
        return rendition.open_writer(
            path,
            workdir,
            meta.width,
            meta.height,
            meta.fps,
            short_side=settings.video_preview_height,
            copy=settings.video_preview_copy,
        )
    except Exception:  # the encoder could not start: the report plays the source
        log.warning("the preview rendition could not be started", exc_info=True)
        return None


def _encoded_instead(
    copied: rendition.PreviewResult, path: str, workdir: str, meta: vision.VideoMetadata, settings
) -> rendition.PreviewResult | None:
    """A copied preview of a source with damaged or missing data (the pass passed over packets, or
    decoded less than the file declares) could stop the browser at a packet its decoder refuses
    (measured: Chromium's PIPELINE_ERROR_DECODE at the first one, no seeking past it, on an MKV
    whose damage FFmpeg here conceals): it is encoded instead, from the frames that decode, in a
    pass of its own."""
    os.remove(copied.path)
    log.info("the source has damaged data: its preview is encoded, not copied")
    try:
        return rendition.encode_preview(
            path, workdir, meta.width, meta.height, meta.fps, short_side=settings.video_preview_height
        )
    except Exception:  # the report plays the source
        log.warning("the preview rendition could not be encoded", exc_info=True)
        return None


@contextmanager
def _refused_as_job_failure():
    """The vision adapter's refusal as the job's coded failure, with the same code and message."""
    try:
        yield
    except vision.VisionError as refused:
        raise JobFailure(refused.code, refused.message, retryable=refused.retryable) from refused


def _yield_to_decoding() -> None:
    """Lower the calling thread's priority by INSPECT_NICENESS (Linux keeps a nice value per
    thread, set through its thread id; the pool's thread ends with the job). Elsewhere a thread
    id is no process id, so nothing is changed."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + INSPECT_NICENESS))
    except (AttributeError, OSError):
        pass


def make_contact_sheet(shots: list[dict], tiles: dict[int, bytes], workdir: str) -> str | None:
    items = [(tiles[s["index"]], f"#{s['index'] + 1}  {s['start_s']:.1f}s") for s in shots if s["index"] in tiles]
    data = kf.contact_sheet(items)
    if data is None:
        return None
    path = os.path.join(workdir, "contact_sheet.jpg")
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def describe_and_report(
    out: PipelineOutput,
    settings,
    *,
    user_id: str | None,
    on_stage: StageFn | None = None,
    keyframe_key: Callable[[int], str] | None = None,
) -> dict:
    """Descriptions (offline or openai) and the report JSON; sets ``out.report``."""
    clock = _Clock(on_stage)
    with clock.stage("describe", 80):
        keyframes = {}
        if settings.effective_ai_provider == "openai":
            keyframes = {i: open(p, "rb").read() for i, p in out.thumbs.items()}
        words = describer.describe(
            out.shots,
            out.passed.frames / out.meta.fps,
            provider=settings.effective_ai_provider,
            user_id=user_id,
            keyframes=keyframes,
            model=settings.openai_vision_model,
            max_images=settings.video_ai_max_keyframes,
            found=out.found,
        )
    with clock.stage("report", 90):
        out.timings.update(clock.timings)
        out.report = build_report(out, words, keyframe_key=keyframe_key)
    out.timings.update(clock.timings)
    out.report["timings"] = dict(out.timings)
    return out.report
