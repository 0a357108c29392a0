"""services/video/people.py on both databases: the same person across one user's videos gets one
key, another user's identical face never matches, a re-run replaces its rows, links name only the
owner's videos."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from backend_app.extensions import db
from backend_app.models import Person, Session
from backend_app.services.video import people
from tests.chat_data import add_analysis
from tests.factories import make_user


def _vector(seed: int, nudge: float = 0.0) -> bytes:
    vector = np.random.default_rng(seed).normal(0, 0.09, 128).astype(np.float32)  # ~1.0 long, like dlib's
    vector[0] += nudge
    return vector.tobytes()


def _video(user_id: str, name: str, tmp_path, persons: dict[str, bytes]):
    session = Session(user_id=user_id, name="s")
    db.session.add(session)
    db.session.flush()
    analysis = add_analysis(user_id, session.id, name)
    found, report = {"_people": {}}, {"people": []}
    for number, (person_id, embedding) in enumerate(persons.items()):
        crop = tmp_path / f"{analysis.id}_{person_id}.jpg"
        crop.write_bytes(b"\xff\xd8 a face")
        found["_people"][person_id] = {"embedding": embedding, "crop": str(crop)}
        report["people"].append({"id": person_id, "label": f"Person {'AB'[number]}", "shots": [number]})
    people.store(analysis, found, report)
    analysis.report = report
    db.session.commit()
    return analysis, report


def test_matching_stays_within_the_user_and_links_name_their_videos(app, tmp_path):
    owner, stranger = make_user(), make_user()
    first, first_report = _video(owner.id, "first.mp4", tmp_path, {"p1": _vector(1), "p2": _vector(2)})
    second, second_report = _video(owner.id, "second.mp4", tmp_path, {"p1": _vector(2, nudge=0.2)})
    theirs, their_report = _video(stranger.id, "theirs.mp4", tmp_path, {"p1": _vector(1)})

    assert second_report["people"][0]["user_person"] == first_report["people"][1]["user_person"]
    assert their_report["people"][0]["user_person"] not in {p["user_person"] for p in first_report["people"]}
    linked = people.linked(second, second_report["people"], lambda pid: f"/face/{pid}")
    assert linked[0]["also_in"] == [{"analysis_id": first.id, "filename": "first.mp4"}]
    assert linked[0]["face_url"] == "/face/p1" and "face_key" not in linked[0]
    assert people.linked(theirs, their_report["people"], None)[0]["also_in"] == []

    # a re-run replaces its own rows (and matches the same way again)
    _found = {"_people": {"p1": {"embedding": _vector(2, nudge=0.2), "crop": str(tmp_path / f"{second.id}_p1.jpg")}}}
    rerun = {"people": [{"id": "p1", "label": "Person A", "shots": [0]}]}
    people.store(second, _found, rerun)
    db.session.commit()
    rows = db.session.execute(select(Person.person_id).where(Person.analysis_id == second.id)).scalars().all()
    assert rows == ["p1"] and rerun["people"][0]["user_person"] == first_report["people"][1]["user_person"]
    assert people.face(second, "p1").content_type == "image/jpeg"


def test_two_people_of_one_video_never_take_the_same_earlier_key(app, tmp_path):
    owner = make_user()
    _first, first_report = _video(owner.id, "first.mp4", tmp_path, {"p1": _vector(5)})
    _second, second_report = _video(
        owner.id, "second.mp4", tmp_path, {"p1": _vector(5, nudge=0.1), "p2": _vector(5, nudge=0.2)}
    )
    keys = [p["user_person"] for p in second_report["people"]]
    assert keys[0] == first_report["people"][0]["user_person"] and keys[1] != keys[0]
