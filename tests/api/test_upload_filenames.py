"""Bidirectional and control characters never reach a stored, listed or downloaded filename."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest

from backend_app.extensions import db
from backend_app.filenames import clean, content_disposition
from backend_app.models import Analysis
from backend_app.services.video import analyses
from tests.factories import auth_headers, make_user
from tests.media import make_clip
from tests.uploading import init_upload, make_session, send

RLO = "\u202e"
# Shows as "holiday-exe.mp4" in a right-to-left-aware listing; really ends in ".exe" before the override.
TRICK = f"holiday-{RLO}4pm.exe"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.fixture
def owner(app, client):
    headers = auth_headers(client, make_user())
    return {"headers": headers, "session_id": make_session(client, headers)}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1, cuts=(0.5,)).read_bytes()


def _disposition_names(header: str) -> list[str]:
    """The plain name and the UTF-8 one (the last repeats the first when only ASCII was sent)."""
    parts = dict(p.strip().split("=", 1) for p in header.split(";")[1:])
    plain = parts["filename"].strip('"')
    return [plain, unquote(parts["filename*"].removeprefix("UTF-8''")) if "filename*" in parts else plain]


def _listed(client, owner) -> list[str]:
    res = client.get(f"/api/v1/analyses?session_id={owner['session_id']}", headers=owner["headers"])
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    items = body["analyses"] if isinstance(body, dict) else body
    return [a["filename"] for a in items]


@pytest.mark.sqlite_only
def test_bidi_and_control_characters_are_stripped_at_upload(client, owner, clip):
    name = f"{BIDI}hol\x85iday\u2028-{RLO}4pm.mp4"
    res = init_upload(client, owner["headers"], owner["session_id"], size=len(clip), filename=name)
    assert res.status_code == 201, res.get_json()
    form = {"session_id": owner["session_id"], "file": (io.BytesIO(clip), TRICK + ".mp4", "video/mp4")}
    one_shot = client.post("/api/v1/uploads", data=form, headers=owner["headers"], content_type="multipart/form-data")
    assert one_shot.status_code == 202, one_shot.get_json()

    assert sorted(_listed(client, owner)) == sorted(["holiday-4pm.mp4", "holiday-4pm.exe.mp4"])
    shown = client.get(f"/api/v1/analyses/{res.get_json()['analysis_id']}", headers=owner["headers"]).get_json()
    assert shown["filename"] == "holiday-4pm.mp4"


@pytest.mark.sqlite_only
def test_a_name_stored_before_the_fix_downloads_without_them(app, client, owner, clip):
    res = init_upload(client, owner["headers"], owner["session_id"], size=len(clip))
    ticket = res.get_json()
    assert send(client, "PUT", ticket["upload_url"], data=clip, headers=ticket["headers"])[0] == 201
    analysis = db.session.get(Analysis, ticket["analysis_id"])
    analysis.filename = TRICK + "\x1b.mp4"  # as a row written before names were cleaned
    db.session.commit()

    status, body, headers = send(client, "GET", analyses.video_url(analysis, 60))
    assert status == 200 and body == clip
    names = _disposition_names(headers["Content-Disposition"])
    assert names[1] == "holiday-4pm.exe.mp4", names
    assert not any(c in n for n in names for c in BIDI + "\x1b")


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        (TRICK, "holiday-4pm.exe"),
        (f"{BIDI}a\tb\r\nc\x00d\x7fe\x9ff\u2029g", "abcdefg"),
        ("résumé 🎬 \u200d.mp4", "résumé 🎬 \u200d.mp4"),  # letters, emoji and joiners stay
        ("", ""),
    ],
)
def test_clean(name, cleaned):
    assert clean(name) == cleaned


def test_content_disposition_drops_them_in_both_forms():
    names = _disposition_names(content_disposition(TRICK + ".mp4"))
    assert names == ["holiday-4pm.exe.mp4", "holiday-4pm.exe.mp4"]
    assert _disposition_names(content_disposition(RLO + BIDI)) == ["download", "download"]
