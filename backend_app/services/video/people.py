"""The people of an analysis beyond its report: face crops in storage, embeddings in ``people``.

The faces analyser hands over each person's embedding and face crop as its private part
(``_people``, never in the report). Storing them here links each person to the same user's
earlier videos: a person whose embedding matches one of that user's earlier people (the query is
filtered by ``user_id`` in SQL: never across users) gets that person's ``user_person`` key, and
the report says "also in <video name>" (read when the report is read, so a deleted video is no
longer named). Crops live under the analysis's storage prefix and rows go with the analysis, so
deletion, retention, account erasure and export reach both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select

from backend_app.adapters.ai import faces
from backend_app.adapters.storage import ObjectNotFound, get_storage
from backend_app.errors import NotFound
from backend_app.extensions import db
from backend_app.models import Analysis, Person
from backend_app.models.base import new_id
from backend_app.services.files import Download

JPEG = "image/jpeg"


def face_key(analysis: Analysis, person_id: str) -> str:
    """The storage key of one person's face crop."""
    return f"{analysis.prefix}people/{person_id}.jpg"


def store(analysis: Analysis, found: dict, report: dict) -> None:
    """Replace the analysis's face crops and people rows with this run's (the caller commits), and
    give each person of ``report["people"]`` its ``face_key`` and ``user_person``."""
    private = found.get("_people") or {}
    storage = get_storage()
    storage.delete_prefix(f"{analysis.prefix}people/")
    forget(analysis)
    earlier = db.session.execute(
        select(Person.user_person, Person.embedding).where(
            Person.user_id == analysis.user_id, Person.analysis_id != analysis.id
        )
    ).all()
    candidates = [(row.user_person, row.embedding) for row in earlier]
    for person in report.get("people") or []:
        kept = private.get(person.get("id"))
        if kept is None:
            continue
        key = face_key(analysis, person["id"])
        storage.put_file(key, kept["crop"], JPEG)
        # one earlier person per person of this video: two faces here are two people
        user_person = faces.nearest(kept["embedding"], candidates) or new_id()
        candidates = [c for c in candidates if c[0] != user_person]
        person["face_key"], person["user_person"] = key, user_person
        db.session.add(
            Person(
                user_id=analysis.user_id,
                analysis_id=analysis.id,
                person_id=person["id"],
                label=person.get("label", ""),
                user_person=user_person,
                embedding=kept["embedding"],
                face_key=key,
            )
        )
    db.session.flush()


def forget(analysis: Analysis) -> int:
    """Delete the analysis's people rows (its crops go with its storage prefix); the caller commits."""
    result = db.session.execute(
        delete(Person).where(Person.analysis_id == analysis.id, Person.user_id == analysis.user_id)
    )
    return result.rowcount or 0


def forget_analyses(ids: list[str]) -> int:
    """Delete the people rows of these analyses (retention); the caller commits."""
    if not ids:
        return 0
    return db.session.execute(delete(Person).where(Person.analysis_id.in_(ids))).rowcount or 0


def linked(analysis: Analysis, people: list[dict], face_url: Callable[[str], str] | None) -> list[dict[str, Any]]:
    """The report's people as the owner sees them: ``face_url`` filled in and ``also_in`` (the
    owner's other videos with the same person), without storage keys."""
    keys = [p["user_person"] for p in people if p.get("user_person")]
    elsewhere: dict[str, list[dict]] = {}
    if keys:
        rows = db.session.execute(
            select(Person.user_person, Analysis.id, Analysis.filename)
            .join(Analysis, Analysis.id == Person.analysis_id)
            .where(
                Person.user_id == analysis.user_id,
                Analysis.user_id == analysis.user_id,
                Person.user_person.in_(keys),
                Person.analysis_id != analysis.id,
            )
            .order_by(Analysis.created_at)
        ).all()
        for user_person, other_id, filename in rows:
            elsewhere.setdefault(user_person, []).append({"analysis_id": other_id, "filename": filename})
    result = []
    for person in people:
        shown = {name: value for name, value in person.items() if name != "face_key"}
        shown["face_url"] = face_url(person["id"]) if face_url and person.get("face_key") else None
        shown["also_in"] = elsewhere.get(person.get("user_person") or "", [])
        result.append(shown)
    return result


def face(analysis: Analysis, person_id: str) -> Download:
    """One person's face crop (JPEG), streamed from storage."""
    key = next(
        (p.get("face_key") for p in (analysis.report or {}).get("people") or [] if p.get("id") == person_id), None
    )
    if not key or not key.startswith(analysis.prefix):  # a report can only point inside its own analysis
        raise NotFound("No such person in this analysis.", code="PERSON_NOT_FOUND")
    storage = get_storage()
    try:
        return Download(storage.iter_chunks(key), JPEG, size=storage.size(key))
    except ObjectNotFound:
        raise NotFound("No face picture for this person.", code="PERSON_NOT_FOUND") from None
