"""The text analyser (ANALYSERS=text) on a video made here: slides with text drawn in them between
moving scenes. Found at their times, one item per text however many frames read it, with ä ö ü ß;
the decode pass's still moments; a tiny budget reads fewer frames and says so; a real worker job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend_app.adapters import vision
from backend_app.adapters.ai import ocr, text_items
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests.analysers.text_media import Scene, text_video
from tests.helpers import wait_until
from tests.web import live

# tests/web's fixtures for the browser test: the app served on a loopback port, and Chromium
live_server, browser = live.live_server, live.browser

pytestmark = pytest.mark.skipif(
    bool(ocr.INFO.missing()), reason=f"not installed: {ocr.INFO.missing()} (pip install -r requirements-ai.txt)"
)

QUARTERLY, REVENUE, GERMAN, STREET = "Quarterly Report", "Revenue up twelve percent", "Größe über Äpfel", "Straße"
WORDS = (
    "Apfel Birne Kirsche Banane Melone Zitrone Pflaume Traube Mango Orange "
    "Harbour Lantern Window Garden Bridge Tunnel Market Castle Meadow Forest"
).split()
SCENES = [
    Scene(0, 2),
    Scene(2, 3.5, ((QUARTERLY, (120, 120)),)),
    Scene(3.5, 5, ((QUARTERLY, (120, 120)), (REVENUE, (120, 300)))),  # a line added to the same slide
    Scene(5, 8),
    Scene(8, 11, ((GERMAN, (100, 200)), (STREET, (600, 400))), bg=(20, 30, 90), fg=(250, 250, 250)),
    Scene(11, 12),
]


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    """12 s, 960x540, 25 fps, H.264: "Quarterly Report" 2-5 s (a second line from 3.5 s), German 8-11 s."""
    return text_video(tmp_path_factory.mktemp("text-video") / "slides.mp4", SCENES)


def settings_for(tmp_path, budget_per_min: float = 30.0):
    values = {"ANALYSERS": "text", "ANALYSER_BUDGET_S_PER_MIN": str(budget_per_min)}
    return load_settings(values, ai_provider="offline", data_dir=str(tmp_path / "data"))


def analysed(path: Path, tmp_path, budget_per_min: float = 30.0) -> dict:
    settings = settings_for(tmp_path, budget_per_min)
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)
    return video_pipeline.describe_and_report(out, settings, user_id=None)


def one(texts: list[dict], text: str) -> dict:
    found = [t for t in texts if t["text"] == text]
    assert len(found) == 1, f"{text!r} should be one item: {texts}"
    return found[0]


def test_the_decode_pass_hands_on_one_picture_per_still_moment_and_again_when_it_changes(slides):
    from backend_app.services.video.pipeline import limits_from

    settings = load_settings({}, ai_provider="offline")
    meta = vision.probe(str(slides), limits_from(settings))
    stills: list[tuple[float, tuple]] = []
    passed = vision.decode_pass(
        str(slides), meta, limits_from(settings), on_still=lambda t, picture: stills.append((t, picture.shape))
    )
    times = [t for t, _shape in stills]
    assert passed.stills == len(stills) and all(shape == (540, 960, 3) for _t, shape in stills)
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:])), times  # at most one a second
    # each slide once (after it settles), and the slide again when a line was added to it
    assert len([t for t in times if 2.0 < t < 3.5]) == 1, times
    assert len([t for t in times if 3.5 < t < 5.0]) == 1, times
    assert len([t for t in times if 8.0 < t < 11.0]) == 1, times  # three unchanged seconds: one picture
    without = vision.decode_pass(str(slides), meta, limits_from(settings))
    assert without.stills == 0 and [s.start_frame for s in without.shots] == [s.start_frame for s in passed.shots]


def test_texts_are_found_at_their_times_once_each_with_umlauts_and_in_their_shots(slides, tmp_path):
    report = analysed(slides, tmp_path)
    texts = report["texts"]
    assert {t["text"] for t in texts} == {QUARTERLY, REVENUE, GERMAN, STREET}, texts  # nothing from moving scenes

    quarterly = one(texts, QUARTERLY)
    assert quarterly["start_s"] == pytest.approx(2.0, abs=1.0) and quarterly["end_s"] == pytest.approx(5.0, abs=1.0)
    assert quarterly["frames"] >= 2  # read in several frames (keyframes, still moments), reported once
    revenue = one(texts, REVENUE)
    assert revenue["start_s"] == pytest.approx(3.5, abs=1.0) and revenue["end_s"] == pytest.approx(5.0, abs=1.0)
    german = one(texts, GERMAN)
    assert german["start_s"] == pytest.approx(8.0, abs=1.0) and german["end_s"] == pytest.approx(11.0, abs=1.0)
    assert german["frames"] >= 2 and one(texts, STREET)["start_s"] == pytest.approx(8.0, abs=1.0)
    # boxes in the video's pixels, where the text was drawn
    x, y, w, h = german["box"]
    assert abs(x - 100) <= 20 and abs(y - 200) <= 25 and 250 <= w <= 500 and 30 <= h <= 90
    assert [t["start_s"] for t in texts] == sorted(t["start_s"] for t in texts)

    at = {s["index"]: s for s in report["shots"]}
    shot_of = lambda t: next(s for s in report["shots"] if s["start_s"] <= t < s["end_s"])  # noqa: E731
    assert GERMAN in shot_of(9.5)["texts"] and STREET in shot_of(9.5)["texts"]
    assert QUARTERLY in shot_of(2.5)["texts"] and shot_of(6.5)["texts"] == [] and shot_of(0.5)["texts"] == []
    assert all(isinstance(s["texts"], list) for s in at.values())

    sampling = report["text_sampling"]
    assert sampling["read"]["keyframes"] == sampling["offered"]["keyframes"] == len(report["shots"]), sampling
    assert sampling["read"]["stills"] == sampling["offered"]["stills"] >= 3 and sampling["skipped"] == 0
    assert sampling["note"] == "" and 0 < sampling["spent_s"] <= sampling["budget_s"]
    row = next(r for r in report["analysers"] if r["name"] == "text")
    assert row["state"] == "ran" and report["timings"]["analyser_text"] > 0


def test_a_tiny_budget_reads_fewer_frames_and_says_so(slides, tmp_path):
    full = analysed(slides, tmp_path / "full")["text_sampling"]
    report = analysed(slides, tmp_path / "tiny", budget_per_min=0.3)  # 0.3 s of CPU for the whole video
    sampling = report["text_sampling"]
    read, offered = sum(sampling["read"].values()), sum(sampling["offered"].values())
    assert offered == sum(full["offered"].values()) and read < sum(full["read"].values())
    assert sampling["skipped"] == offered - read > 0 and sampling["budget_s"] == 0.3 and sampling["ocr_runs"] >= 1
    assert (
        f"{offered - read} of {offered} frames not read" in sampling["note"] and "0.3 s CPU budget" in sampling["note"]
    )
    assert (
        sampling["spent_s"] <= 0.3 + 2 * full["cost_per_frame_s"]
    )  # within the budget, give or take the frame running
    assert next(r for r in report["analysers"] if r["name"] == "text")["state"] == "ran"
    assert all(t["text"] in (QUARTERLY, REVENUE, GERMAN, STREET) for t in report["texts"])


def test_merging_keeps_one_item_per_text_within_the_window():
    seen = [
        text_items.Seen(2.0, 3.5, "Quarterly Report", (10, 10, 100, 20), 0.95),
        text_items.Seen(2.9, 2.9, "Quarterly Rep0rt", (11, 10, 100, 20), 0.80),  # an OCR slip: the same text
        text_items.Seen(3.5, 5.0, "quarterly report.", (12, 10, 100, 20), 0.90),
        text_items.Seen(20.0, 20.0, "Quarterly Report", (10, 10, 100, 20), 0.99),  # shown again much later
        text_items.Seen(2.9, 2.9, "Sale", (0, 0, 5, 5), 0.9),
        text_items.Seen(3.0, 3.0, "Sala", (0, 0, 5, 5), 0.9),  # short words one letter apart are different
    ]
    items = text_items.merge(seen)
    assert [(i["text"], i["start_s"], i["end_s"], i["frames"]) for i in items] == [
        ("Quarterly Report", 2.0, 5.0, 3),
        ("Sale", 2.9, 2.9, 1),
        ("Sala", 3.0, 3.0, 1),
        ("Quarterly Report", 20.0, 20.0, 1),
    ]
    assert items[0]["box"] == [10, 10, 100, 20]  # the best reading's box
    assert not text_items.worth_keeping("I") and not text_items.worth_keeping("| .") and text_items.worth_keeping("5G")


def test_the_budget_spreads_frames_over_the_video_instead_of_spending_it_at_the_start():
    budget = text_items.Budget(budget_s=10.0, duration_s=600.0)  # 10 s of CPU for ten minutes
    admitted = []
    for t in range(0, 600, 2):  # a still moment every 2 s, each read at once at 0.5 s
        if budget.admit(float(t)):
            budget.done(0.5)
            admitted.append(t)
    assert 15 <= len(admitted) <= 20 and budget.spent_s <= 10.0
    assert admitted[-1] >= 500 and sum(1 for t in admitted if t < 300) <= 12  # the second half gets frames too
    assert budget.skipped == 300 - len(admitted)


def test_a_run_closed_early_stops_its_reader_and_a_picture_it_cannot_read_fails_it():
    import numpy as np

    from backend_app.adapters.ai.base import Context
    from tests.analysers.text_media import drawn

    ctx = Context(path="x", workdir="w", duration_s=60.0, fps=25.0, width=960, height=540, budget_s=30.0)
    run = ocr.Run(ctx)
    for t in range(6):
        run.frame(float(t), drawn([(f"Seite {t} von 6", (50, 50))]))
    run.close()
    assert run._reader is None and sum(run.read.values()) <= 6  # ended without reading the rest
    run.keyframe(0, 0.0, 2.0, drawn([("Zu spät", (50, 50))]))  # the inspecting thread, after the close
    assert run._reader is None and run.offered["keyframes"] == 0

    failing = ocr.Run(ctx)
    failing.keyframe(0, 0.0, 2.0, np.zeros((20, 20, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="8-bit"):  # Runs marks the analyser failed with this reason
        failing.finish([{"index": 0, "start_s": 0.0, "end_s": 2.0}])


def test_offering_never_waits_for_ocr_keeps_a_bounded_set_and_reads_it_after_the_pass(monkeypatch):
    from backend_app.adapters.ai.base import Context
    from tests.analysers.text_media import drawn

    monkeypatch.setattr(ocr, "PENDING_PICTURES", 12)  # fewer than the 20 slides offered

    ctx = Context(path="x", workdir="w", duration_s=60.0, fps=25.0, width=960, height=540, budget_s=30.0)
    run = ocr.Run(ctx)
    words = WORDS[:20]
    slides = [drawn([(word, (60 + 20 * n, 60 + 20 * n))]) for n, word in enumerate(words)]
    with ocr._call_lock:  # OCR busy elsewhere in the process: the reader cannot read a frame
        for n, picture in enumerate(slides):  # the old reader's queue (4) made the pass wait here
            run.frame(float(n), picture)
        assert len(run._pending) <= ocr.PENDING_PICTURES and run.dropped >= 20 - ocr.PENDING_PICTURES - 1
    found = run.finish([])  # the pass is over: the set is read now, within the budget
    sampling = found["text_sampling"]
    assert sampling["offered"]["stills"] == 20 and sampling["dropped"] == run.dropped
    assert sampling["read"]["stills"] == 20 - run.dropped == sampling["ocr_runs"]
    texts = {t["text"] for t in found["texts"]}
    assert texts <= set(words)  # what was kept is read, nothing else
    assert len(texts) == 20 - run.dropped and sampling["skipped"] == run.dropped > 0


def test_a_frame_like_one_already_read_takes_its_lines_without_ocr():
    from backend_app.adapters.ai.base import Context
    from tests.analysers.text_media import drawn

    ctx = Context(path="x", workdir="w", duration_s=60.0, fps=25.0, width=1920, height=1080, budget_s=30.0)
    run = ocr.Run(ctx)
    slide = drawn([("Größe über Äpfel", (100, 200))])
    run.keyframe(0, 0.0, 5.0, slide)
    wait_until(lambda: run._known or run._error, timeout_s=120, message="the first slide read")
    run.keyframe(1, 5.0, 10.0, slide.copy())  # the same slide in the next shot
    run.frame(12.0, drawn([("Größe über Äpfel", (100, 200)), ("Straße", (600, 400))]))  # a line more: new
    found = run.finish([{"index": 0, "start_s": 0.0, "end_s": 5.0}, {"index": 1, "start_s": 5.0, "end_s": 10.0}])
    sampling = found["text_sampling"]
    assert sampling["ocr_runs"] == 2 and sampling["duplicates"] == 1 and sampling["skipped"] == 0
    item = next(t for t in found["texts"] if t["text"] == "Größe über Äpfel")
    assert item["start_s"] == 0.0 and item["end_s"] == 12.0 and item["frames"] == 3
    assert abs(item["box"][0] - 200) <= 40  # in the video's pixels (twice the picture's)
    assert "Straße" in {t["text"] for t in found["texts"]}


@pytest.mark.sqlite_only
@pytest.mark.timeout(600)
@pytest.mark.settings(analysers=["text"])
def test_a_real_worker_loads_the_model_once_before_forking_and_its_jobs_report_the_texts(app, client, slides, tmp_path):
    from backend_app.extensions import db
    from backend_app.models import Analysis
    from tests.conftest import wait_for_workers
    from tests.factories import auth_headers, make_user
    from tests.helpers import ROOT, env_for, wait_until
    from tests.uploading import make_session, upload_video

    log = tmp_path / "worker.log"
    with open(log, "wb") as out:  # a file, not a pipe: the INFO log of two jobs would fill a pipe
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env={**os.environ, **env_for(app), "LOG_LEVEL": "INFO"},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=out,
            start_new_session=True,
        )
    try:
        wait_for_workers(app, 1, timeout_s=120)
        headers = auth_headers(client, make_user())
        session_id = make_session(client, headers)
        ids = [
            upload_video(client, headers, session_id, slides, filename=f"slides{i}.mp4")["analysis_id"] for i in (1, 2)
        ]

        def finished():
            db.session.expire_all()
            rows = [db.session.get(Analysis, i).to_dict() for i in ids]
            return rows if all(r["status"] in ("completed", "failed") for r in rows) else None

        wait_until(finished, timeout_s=540, interval_s=1.0, message="both analyses to finish")
        for analysis_id in ids:
            row = db.session.get(Analysis, analysis_id)
            assert row.to_dict()["status"] == "completed", row.to_dict()
            texts = {t["text"] for t in row.report["texts"]}
            assert {QUARTERLY, GERMAN} <= texts, row.report["texts"]
            assert next(r for r in row.report["analysers"] if r["name"] == "text")["state"] == "ran"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    loads = [x["msg"] for x in lines if "OCR engine loaded" in x.get("msg", "")]
    # one load, in the worker itself; the two horses it forked read with the engine they inherited
    assert len(loads) == 1, log.read_text()[-3000:]
    assert loads[0].endswith(f"in process {proc.pid}"), loads


def analysis_with_texts(user_id: str, video: Path | None = None):
    """A completed analysis (tests/web's) whose report has two texts, per-shot texts and a budget note."""
    from backend_app.adapters.storage import get_storage
    from backend_app.extensions import db
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant
    from tests.web.test_analysis_pages import completed_analysis

    analysis = completed_analysis(user_id, sessions.create(Tenant(user_id), "Slides").id)
    if video is not None:
        get_storage().put_bytes(analysis.storage_key, video.read_bytes(), "video/webm")
    report = dict(analysis.report)
    report["shots"] = [dict(s) for s in report["shots"]]
    report["shots"][1]["texts"] = [GERMAN, STREET]
    report["texts"] = [
        {"start_s": 2.0, "end_s": 3.96, "text": GERMAN, "box": [10, 20, 300, 40], "frames": 3},
        {"start_s": 2.5, "end_s": 2.5, "text": "<b>Straße</b>", "box": [10, 80, 100, 40], "frames": 1},
    ]
    report["text_sampling"] = {"note": "3 of 9 frames not read: reading them all would pass the 1 s CPU budget"}
    report["analysers"] = [{"name": "text", "state": "ran", "reason": "", "seconds": 1.2}]
    analysis.report = report
    db.session.commit()
    return analysis


@pytest.fixture
def page(app):
    """A signed-in user's page client (as in tests/web)."""
    from tests.factories import make_user
    from tests.web.conftest import PageClient

    return PageClient(app.test_client(), make_user())


@pytest.mark.sqlite_only
def test_the_report_page_lists_the_texts_with_their_times_and_the_text_of_each_shot(page):
    from backend_app.extensions import db

    analysis = analysis_with_texts(page.user.id)
    report = dict(analysis.report)
    body = page.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    section = body[body.index('data-testid="texts"') : body.index("<h2>Shots</h2>")]
    assert f'href="/analyses/{analysis.id}?t=2.0" data-seek="2.0"' in section and "2.0–4.0 s" in section
    assert f"<q>{GERMAN}</q>" in section and 'data-seek="2.5"' in section and "2.5 s</a>" in section
    assert "&lt;b&gt;Straße&lt;/b&gt;" in section  # escaped, as any text read off a video must be
    assert "3 of 9 frames not read" in section
    assert f'href="#shot-1" data-seek="2.0">Shot 2</a></dt><dd>{GERMAN} · {STREET}</dd>' in section

    report["texts"], report["text_sampling"] = [], {"note": ""}
    analysis.report = dict(report)
    db.session.commit()
    body = page.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert 'data-testid="texts-none"' in body and "No on-screen text was read" in body

    report.pop("texts"), report.pop("text_sampling"), report.pop("analysers")  # a report from before the analyser
    analysis.report = dict(report)
    db.session.commit()
    body = page.get(f"/analyses/{analysis.id}").get_data(as_text=True)
    assert 'data-testid="texts"' not in body and 'id="shot-1"' in body


@pytest.mark.sqlite_only
@pytest.mark.timeout(180)
def test_a_click_on_a_text_plays_the_video_from_its_second(app, live_server, browser, tmp_path):
    import re

    from sqlalchemy import select

    from backend_app.extensions import db
    from backend_app.models import User
    from tests.media import make_clip
    from tests.web.live import screenshot
    from tests.web.test_browser_journey import WATCH_CSP, csp_violations, sign_up

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(WATCH_CSP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_up(tab, live_server.url, "reader@example.test")
    user = db.session.scalar(select(User).where(User.email == "reader@example.test"))
    video = make_clip(tmp_path / "clip.webm", seconds=5, fps=10, size=(160, 90), codec="vp8")
    analysis = analysis_with_texts(user.id, video)

    tab.goto(f"{live_server.url}/analyses/{analysis.id}")
    tab.locator("[data-testid=texts]").wait_for()
    screenshot(tab, "texts-report")
    tab.evaluate(  # where the player lands when the click seeks it (it plays on from there)
        "() => document.getElementById('player').addEventListener("
        "'seeked', (e) => { window.seekedTo = e.target.currentTime; }, {once: true})"
    )
    tab.locator("[data-testid=text-item] a").nth(1).click()  # "<b>Straße</b>", at 2.5 s
    tab.wait_for_url(re.compile(r"[?&]t=2\.5"))
    tab.wait_for_function("() => window.seekedTo !== undefined", timeout=30_000)
    assert tab.evaluate("() => window.seekedTo") == pytest.approx(2.5, abs=0.05)
    assert errors + csp_violations(tab) == []
    context.close()
