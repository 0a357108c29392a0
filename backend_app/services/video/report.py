"""The report JSON of one analysis: metadata, shots, timeline, warnings, timings, summary, ai.

Shape (see shared/DESIGN.md "API v1"): ``metadata {duration_s, fps, frame_count, width, height,
codec, file_size, sha256, bitrate}``, ``shots [{index, start_s, end_s, keyframe_key, faces,
qr_texts, colors, brightness, motion, sharpness, labels, description, …}]``, ``timeline``
(bounded series of ``{t, brightness, motion, sharpness}``), ``warnings [{code, message}]``,
``timings {stage: seconds}``, ``summary {description, counts…}``, ``ai {provider, model, ok, note}``,
``audio`` (services/video/sound.py; null without an audio stream), ``facts [{code, message,
spans}]`` (what is so and no fault: ``SLIDES``, still pictures with text read on them).
Brightness and motion are 0-1 (mean luma; mean absolute luma change per frame); sharpness is
the variance of the Laplacian on a 160-pixel-wide picture (higher is sharper).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from backend_app.services.video.found import found_counts
from backend_app.services.video.quality import is_blurry, quality_warnings, slide_facts
from backend_app.services.video.sound import audio_facts, audio_section
from backend_app.wording import counted

if TYPE_CHECKING:  # the report is built in the worker; keep cv2 out of web imports
    from backend_app.adapters.vision import PassResult, VideoMetadata
    from backend_app.services.video.describe import Descriptions
    from backend_app.services.video.output import PipelineOutput

REPORT_VERSION = 1
INCOMPLETE_TOLERANCE_FRAMES, INCOMPLETE_TOLERANCE_SHARE = 2, 0.01


def shot_dicts(passed: PassResult, fps: float) -> list[dict]:
    """The measured part of each shot, in report units."""
    shots = []
    for rec in passed.shots:
        shots.append(
            {
                "index": rec.index,
                "start_s": round(rec.start_frame / fps, 3),
                "end_s": round((rec.end_frame + 1) / fps, 3),
                "start_frame": rec.start_frame,
                "end_frame": rec.end_frame,
                "brightness": round(rec.brightness, 4),
                "median_brightness": round(rec.median, 4),
                "highlights": round(rec.highlights, 4),
                "dark_share": round(rec.dark_share, 3),
                "motion": round(rec.motion, 5),
                "sharpness": round(rec.sharpness, 1),
                "contrast": round(rec.contrast, 4),
                "detail": round(rec.detail, 3),
                "shake": round(rec.jitter, 3),
                "flashes": rec.flashes,
                "keyframe_t": round(rec.keyframe_frame / fps, 3) if rec.keyframe_frame is not None else None,
                "blurry": is_blurry(rec.detail, rec.contrast),
                "faces": 0,
                "face_boxes": [],
                "qr_texts": [],
                "colors": [],
            }
        )
    return shots


def _span_text(spans: list) -> str:
    return ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in spans[:5]) + (" …" if len(spans) > 5 else "")


def decoded_range(meta: VideoMetadata, passed: PassResult) -> dict | None:
    """``{analysed_s, declared_s, start_s, end_s}`` when the decoded video starts late or ends early
    against what its file declares (beyond a frame or two, which container counts can be off), else None."""
    late, early = _lost_frames(meta, passed)
    if not (late or early):
        return None
    declared = meta.frame_count if meta.length_known else passed.frames
    end = passed.end_frame or passed.frames
    fps = meta.fps
    start_s, end_s = round(passed.first_frame / fps, 3), round(end / fps, 3)
    return {
        "analysed_s": round(end_s - start_s, 3),
        "declared_s": round(declared / fps, 3),
        "start_s": start_s,
        "end_s": end_s,
    }


def _lost_frames(meta: VideoMetadata, passed: PassResult) -> tuple[bool, bool]:
    """(the start was lost, the end was lost), each beyond the tolerance."""
    declared = meta.frame_count if meta.length_known else passed.frames
    end = passed.end_frame or passed.frames
    tolerance = max(INCOMPLETE_TOLERANCE_FRAMES, declared * INCOMPLETE_TOLERANCE_SHARE)
    return passed.first_frame > INCOMPLETE_TOLERANCE_FRAMES, declared - end > tolerance


def partial_decode_warning(meta: VideoMetadata, passed: PassResult) -> list[dict]:
    """PARTIAL_DECODE when only part of what the file declares could be decoded.

    The pass refuses a file of which under half decodes (VIDEO_UNREADABLE); past that the report
    covers what was decoded and says which seconds here, so a lost start or tail is never silent.
    """
    part = decoded_range(meta, passed)
    if part is None:
        return []
    start, end, declared = part["start_s"], part["end_s"], part["declared_s"]
    late, early = _lost_frames(meta, passed)
    missing = [[a, b] for (a, b), lost in (((0.0, start), late), ((end, declared), early)) if lost]
    lost = " and ".join(f"the {'first' if a == 0 else 'last'} {b - a:.1f} s" for a, b in missing)
    return [
        {
            "code": "PARTIAL_DECODE",
            "message": f"Only {start:.1f}-{end:.1f} s of the {declared:.1f} s this file declares could be decoded "
            f"({part['analysed_s']:.1f} s analysed; {lost} could not be: damaged or missing). "
            "This report covers the decoded seconds only.",
            **part,
            "spans": missing,
        }
    ]


def damage_warning(passed: PassResult) -> list[dict]:
    """A warning when the decoder passed over data it could not read (the rest was analysed)."""
    if not passed.damaged_packets:
        return []
    where = f" at {_span_text(passed.damaged)}" if passed.damaged else ""
    return [
        {
            "code": "DAMAGED_DATA",
            "message": f"{counted(passed.damaged_packets, 'frame')} of the file could not be decoded{where} and "
            "were passed over; pictures right after them may show decoding errors.",
            "spans": [list(span) for span in passed.damaged],
        }
    ]


def summary(
    shots: list[dict], words: Descriptions, duration_s: float, warnings: list[dict], found: dict | None = None
) -> dict:
    colours = Counter()
    for shot in shots:
        for colour in shot["colors"]:
            colours[colour["name"]] += colour["share"] * (shot["end_s"] - shot["start_s"])
    return {
        "description": words.summary,
        "shots": len(shots),
        "duration_s": round(duration_s, 3),
        "shots_with_faces": sum(1 for s in shots if s["faces"]),
        "qr_codes": sorted({t for s in shots for t in s["qr_texts"]}),
        "dominant_colors": [name for name, _ in colours.most_common(3)],
        "warnings": len(warnings),
        # what the AI analysers found, when they found any ("spoken_segments": 12)
        **{many.replace(" ", "_").replace("-", "_"): n for n, _one, many in found_counts(found or {})},
    }


def build_report(out: PipelineOutput, words: Descriptions, keyframe_key: Callable[[int], str] | None = None) -> dict:
    meta, passed = out.meta, out.passed
    duration = round(passed.frames / meta.fps, 3)
    shots = []
    for shot in out.shots:
        text = words.shots.get(shot["index"], {})
        key = keyframe_key(shot["index"]) if keyframe_key and shot["index"] in out.thumbs else None
        shots.append(
            {**shot, "keyframe_key": key, "labels": text.get("labels", []), "description": text.get("description", "")}
        )
    texts = out.found.get("texts") or []  # text read on a still stretch makes it a slide, not a fault
    warnings = (
        partial_decode_warning(meta, passed)
        + damage_warning(passed)
        + quality_warnings(shots, passed, texts)
        + audio_facts(out.audio)
        + list(words.warnings)
    )
    metadata = {
        **meta.to_dict(),
        "frame_count": passed.frames,
        "duration_s": duration,
        "container_frame_count": meta.frame_count,
        "container_duration_s": meta.duration_s,
        "partial_decode": decoded_range(meta, passed),  # the session list says it without loading the report
    }
    report = {
        "version": REPORT_VERSION,
        "metadata": metadata,
        "shots": shots,
        "timeline": passed.timeline,
        "audio": audio_section(out.audio),
        "warnings": warnings,
        "facts": slide_facts(passed, texts),  # what is so and no fault (slides)
        "timings": dict(out.timings),
        "summary": summary(shots, words, duration, warnings, out.found),
        "ai": words.ai,
        "analysis": {
            "sample_stride": passed.stride,
            "frames_decoded": passed.decoded,
            "samples": passed.samples,
            "cut_frames": passed.cuts,
            "decode_s": passed.decode_s,
        },
        # The AI analysers' parts (empty when none ran) and how each one fared
        "transcript": [],
        "texts": [],
        "people": [],
        "analysers": list(out.analysers),
    }
    for key, value in out.found.items():  # an analyser adds its own parts; it cannot replace the measured ones
        if key.startswith("_"):  # its private part (embeddings, files) is for the caller to store, never reported
            continue
        if key == "warnings":  # an analyser's warnings (e.g. CONTENT_FLAGGED) join the measured ones
            report["warnings"] = [*report["warnings"], *value]
            if isinstance(report.get("summary"), dict) and "warnings" in report["summary"]:
                report["summary"]["warnings"] = len(report["warnings"])
            continue
        if key not in report or report[key] == []:
            report[key] = value
    return report
