"""One searchable text document per shot, written by the video job (chat searches them).

A re-run replaces the analysis's rows (delete + insert in the caller's transaction), so the
index never holds duplicates. The text carries everything a question might match: the
description, labels, colour names, faces, the people recognised ("Person A"), QR payloads, brightness/motion words, warnings.
"""

from __future__ import annotations

from sqlalchemy import delete

from backend_app.extensions import db
from backend_app.models import Analysis, ShotDocument
from backend_app.services.video.describe import signal_words


def shot_text(shot: dict, warnings: list[str], people: list[str] | None = None) -> str:
    """The shot in plain words. No field labels ("Colours:", "Faces: 0", "Brightness:"): a word
    written into every document matches every question that uses it ("which shot shows colour
    bars?" listed every shot), so only words that tell shots apart are written."""
    words = signal_words(shot)
    parts = [shot.get("description") or ""]
    if shot.get("labels"):
        parts.append("Seen: " + ", ".join(shot["labels"]) + ".")
    if shot.get("colors"):
        parts.append("Mostly " + ", ".join(_colour_words(c["name"]) for c in shot["colors"]) + ".")
    faces = shot.get("faces") or 0
    if faces:
        parts.append(f"{faces} face." if faces == 1 else f"{faces} faces.")
    if people:  # "which shots show Person B?", "shots with Person A"
        parts.append(" and ".join(people) + ".")
    for payload in shot.get("qr_texts") or []:
        parts.append(f"QR code: {payload}.")
    parts.append(f"{words['light'].capitalize()} and {words['motion']}.")
    if warnings:
        parts.append("Warnings: " + "; ".join(warnings) + ".")
    return " ".join(p for p in parts if p)


# Colour names whose everyday word they do not contain: "which shot is green?" must find a lime
# (#00ff00) one. "dark green", "sky blue" and "dark red" carry theirs already.
COLOUR_FAMILIES = {"lime": "green", "navy": "blue", "violet": "purple", "silver": "gray"}


def _colour_words(name: str) -> str:
    family = COLOUR_FAMILIES.get(name)
    return f"{name} ({family})" if family else name


def people_labels(report: dict) -> dict[int, list[str]]:
    """Shot index -> the labels of the people (face clusters) the report found in it."""
    by_shot: dict[int, list[str]] = {}
    for n, person in enumerate(p for p in report.get("people") or [] if isinstance(p, dict)):
        label = str(person.get("label") or f"Person {chr(ord('A') + n % 26)}")[:40]
        for index in person.get("shots") or []:
            if isinstance(index, int) and label not in by_shot.setdefault(index, []):
                by_shot[index].append(label)
    return by_shot


def shot_warnings(report: dict, index: int) -> list[str]:
    """Warning codes that name this shot, in words."""
    return [
        w["code"].replace("_", " ").lower() for w in report.get("warnings") or [] if index in (w.get("shots") or [])
    ]


def replace_for(analysis: Analysis, report: dict) -> int:
    """Replace the analysis's shot documents with one per shot of ``report``; returns the count."""
    db.session.execute(
        delete(ShotDocument).where(ShotDocument.analysis_id == analysis.id, ShotDocument.user_id == analysis.user_id)
    )
    people = people_labels(report)
    for shot in report.get("shots") or []:
        db.session.add(
            ShotDocument(
                user_id=analysis.user_id,
                session_id=analysis.session_id,
                analysis_id=analysis.id,
                shot_index=shot["index"],
                start_s=shot["start_s"],
                end_s=shot["end_s"],
                title=f"{analysis.filename} — shot {shot['index'] + 1} ({shot['start_s']:.1f}–{shot['end_s']:.1f} s)"[
                    :300
                ],
                text=shot_text(shot, shot_warnings(report, shot["index"]), people.get(shot["index"])),
                keyframe_key=shot.get("keyframe_key"),
            )
        )
    return len(report.get("shots") or [])
