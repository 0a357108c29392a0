"""People through a real worker and the API: face crops and people are the owner's only, the same
person across one user's videos is linked (never across users), embeddings never leave the
database, and deletion and retention take them away."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend_app.adapters.ai import faces
from backend_app.extensions import db
from backend_app.models import Person
from backend_app.models.base import utcnow
from tests.analysers.faces_media import people_clip
from tests.factories import PASSWORD, auth_headers, make_user, page_login
from tests.helpers import wait_until
from tests.uploading import make_session, upload_video

pytestmark = [
    pytest.mark.skipif(bool(faces.INFO.missing()), reason=f"faces analyser not installed: {faces.INFO.missing()}"),
    pytest.mark.sqlite_only,
    pytest.mark.settings(analysers=["faces"]),
    pytest.mark.timeout(600),
]


def _analysed(client, headers, tmp_path, name: str, shots: list[dict]) -> tuple[str, dict]:
    session_id = make_session(client, headers)
    clip = people_clip(tmp_path / name, shots)
    analysis_id = upload_video(client, headers, session_id, clip, filename=name)["analysis_id"]

    def finished():
        body = client.get(f"/api/v1/analyses/{analysis_id}", headers=headers).get_json()
        return body if body["status"] in ("completed", "failed", "canceled") else None

    status = wait_until(finished, timeout_s=400, interval_s=0.5, message=f"{name} to be analysed")
    assert status["status"] == "completed", status
    response = client.get(f"/api/v1/analyses/{analysis_id}/report", headers=headers)
    assert response.status_code == 200
    assert "embedding" not in response.get_data(as_text=True)  # never in an API response
    return analysis_id, response.get_json()


def _rows(user_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Person).where(Person.user_id == user_id))


def test_people_across_a_users_videos_and_never_across_users(app, client, worker, tmp_path):
    owner, other = make_user(), make_user()
    mine, theirs = auth_headers(client, owner), auth_headers(client, other)
    owner_id, other_id = owner.id, other.id

    first_id, first = _analysed(client, mine, tmp_path, "first.mp4", [{"who": "A"}, {"who": "B"}, {"who": "A"}])
    assert [(p["label"], p["shots"]) for p in first["people"]] == [("Person A", [0, 2]), ("Person B", [1])]
    assert [s["people"] for s in first["shots"]] == [["p1"], ["p2"], ["p1"]]
    assert [s["people_count"] for s in first["shots"]] == [1, 1, 1]
    assert first["faces"]["models_loaded"] == "before this process"  # the horse used the worker's warm models
    assert all(p["also_in"] == [] for p in first["people"])
    face_url = first["people"][0]["face_url"]
    assert face_url == f"/api/v1/analyses/{first_id}/people/p1/face"
    picture = client.get(face_url, headers=mine)
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg" and picture.get_data()[:2] == b"\xff\xd8"
    # another user: the crop, the report and the person do not exist for them
    for url in (face_url, f"/api/v1/analyses/{first_id}/report"):
        assert client.get(url, headers=theirs).status_code == 404
    missing = client.get(f"/api/v1/analyses/{first_id}/people/p9/face", headers=mine)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "PERSON_NOT_FOUND"

    # the owner's second video: B again (first), then nobody; B is linked to the first video
    second_id, second = _analysed(client, mine, tmp_path, "second.mp4", [{"who": "B", "dx": 60}, {"who": None}])
    assert [(p["label"], p["shots"]) for p in second["people"]] == [("Person A", [0])]
    assert second["people"][0]["user_person"] == first["people"][1]["user_person"]
    assert second["people"][0]["also_in"] == [{"analysis_id": first_id, "filename": "first.mp4"}]
    again = client.get(f"/api/v1/analyses/{first_id}/report", headers=mine).get_json()
    assert again["people"][1]["also_in"] == [{"analysis_id": second_id, "filename": "second.mp4"}]

    # the other user's video with the same drawn A: never linked to the owner's A
    their_id, their = _analysed(client, theirs, tmp_path, "theirs.mp4", [{"who": "A"}])
    assert their["people"][0]["also_in"] == []
    assert their["people"][0]["user_person"] not in {p["user_person"] for p in first["people"]}
    assert client.get(their["people"][0]["face_url"], headers=mine).status_code == 404
    assert (_rows(owner.id), _rows(other.id)) == (3, 1)

    # the page shows each person with face, label and shots (seeking) and the other video
    browser, stranger = app.test_client(), app.test_client()
    page_login(browser, owner.email)
    page_login(stranger, other.email)
    page = browser.get(f"/analyses/{second_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-testid="person"') == 1 and "Also in" in html and "first.mp4" in html
    assert 'data-testid="person-shot">Shot 1<' in html and 'data-seek="0.0"' in html
    assert f"/analyses/{second_id}/people/p1/face.jpg" in html
    assert browser.get(f"/analyses/{second_id}/people/p1/face.jpg").status_code == 200
    assert stranger.get(f"/analyses/{second_id}/people/p1/face.jpg").status_code == 404

    # deleting the first video takes its people rows and crops; the second no longer names it
    assert client.delete(f"/api/v1/analyses/{first_id}", headers=mine).status_code == 204
    assert _rows(owner.id) == 1
    assert client.get(face_url, headers=mine).status_code == 404
    assert client.get(f"/api/v1/analyses/{second_id}/report", headers=mine).get_json()["people"][0]["also_in"] == []

    # the other user's export holds their own person (embedding and face) and nothing of the owner's;
    # erasing their account removes the row
    export = client.get("/api/v1/me/export", headers=theirs)
    assert export.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(export.get_data()))
    rows = [json.loads(line) for line in archive.read("tables/people.jsonl").decode().splitlines()]
    assert [(r["analysis_id"], r["person_id"]) for r in rows] == [(their_id, "p1")]
    assert len(bytes.fromhex(rows[0]["embedding"])) == 512
    assert any(name.endswith(f"{their_id}/people/p1.jpg") for name in archive.namelist())
    erased = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=theirs)
    assert erased.status_code == 200 and erased.get_json()["removed"]["rows.people"] == 1
    assert _rows(other_id) == 0 and _rows(owner_id) == 1


def test_retention_purges_people_with_their_analysis(app, client, worker, tmp_path):
    from backend_app.services import retention

    owner = make_user()
    headers = auth_headers(client, owner)
    _analysed(client, headers, tmp_path, "old.mp4", [{"who": "A"}, {"who": "B"}])
    assert _rows(owner.id) == 2
    counts = retention.purge(now=utcnow() + timedelta(days=3650))
    assert counts["people"] == 2 and counts["analyses"] == 1
    db.session.expire_all()
    assert _rows(owner.id) == 0
