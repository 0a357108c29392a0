"""In Debian's Chromium, against the real app and a real worker: a video browsers cannot play
(MPEG-4 Part 2 + MP3 in AVI, made here) is uploaded through the page; its report plays the
preview rendition, and the shot list, the timeline and `?t=` links seek it to the exact second.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests import media
from tests.factories import PASSWORD
from tests.web.live import open_by_click, screenshot

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]

PLAYER = "document.getElementById('player')"


def _avi(tmp_path):
    clip = media.make_clip(tmp_path / "cuts.mp4", seconds=6, fps=25, size=(320, 180), cuts=(2.0, 4.0))
    out = tmp_path / "three shots.avi"
    subprocess.run(
        [media.require_ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-f", "lavfi", "-t", "6", "-i", "sine=f=330"]
        + ["-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def _near(page, seconds: float) -> None:
    page.wait_for_function(f"() => Math.abs({PLAYER}.currentTime - {seconds}) < 0.5", timeout=15_000)


def test_a_non_browser_source_plays_its_preview_and_seeks_to_each_shot(live_server, browser, start_worker, tmp_path):
    start_worker(1)
    base = live_server.url
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{base}/register")
    page.fill("input[name=email]", "preview@example.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions$"))
    page.fill("input[name=name]", "Old films")
    page.click("form.create-session button[type=submit]")
    page.get_by_role("link", name="Old films").click()
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f]+$"))

    page.set_input_files("[data-testid=file-input]", str(_avi(tmp_path)))
    page.locator("[data-analysis][data-status=completed]").wait_for(timeout=180_000)
    open_by_click(page, "[data-testid=open-report]")
    page.locator("[data-testid=report-title]").wait_for()
    report_url = page.url.split("?")[0].split("#")[0]

    # The player has the preview: metadata and a first frame, a finite duration, the right length.
    assert page.locator("[data-testid=preview-note]").is_visible()
    page.wait_for_function(f"() => {PLAYER}.readyState >= 2", timeout=30_000)
    duration = page.evaluate(f"() => {PLAYER}.duration")
    assert duration == pytest.approx(6.0, abs=0.2)
    # The upload itself is what Chromium cannot play (so the preview is what made the difference).
    source_error = page.evaluate(
        """() => new Promise((done) => {
            const v = document.createElement('video');
            v.muted = true;
            v.onerror = () => done(v.error ? v.error.code : -1);
            v.onloadeddata = () => done(0);
            v.src = document.getElementById('player').dataset.fallback;
        })"""
    )
    assert source_error != 0, "Chromium played the AVI itself: the test no longer shows what the preview is for"

    # Clicking a shot in the list seeks to its start second.
    shots = page.locator("[data-testid=shot] [data-seek]")
    assert shots.count() == 3
    for index in (2, 1):
        start = float(shots.nth(index).get_attribute("data-seek"))
        assert start > 0
        shots.nth(index).click()
        _near(page, start)
        assert page.url.split("#")[0].endswith(f"?t={start}")  # the address says where, to reload or share
    screenshot(page, "preview-report")

    # The timeline strip does the same.
    strip = page.locator("[data-testid=shot-strip] [data-seek]")
    first = float(strip.nth(0).get_attribute("data-seek"))
    strip.nth(0).click()
    _near(page, first)

    # A link at a second (a chat citation, a shared address) opens the report there.
    page.goto(f"{report_url}?t=4.5")
    page.wait_for_function(f"() => {PLAYER}.readyState >= 1", timeout=30_000)
    _near(page, 4.5)
    page.goto(f"{report_url}#t=3.25")
    page.wait_for_function(f"() => {PLAYER}.readyState >= 1", timeout=30_000)
    _near(page, 3.25)
    assert errors == [], errors


def test_chromium_plays_a_copied_preview_from_its_first_frame_and_seeks_in_it(browser, tmp_path):
    """H.264 with B frames in MKV and Vorbis sound: the preview copies its pictures as they are
    (VIDEO_PREVIEW_COPY) and encodes the sound to AAC. Chromium decodes the MP4 (readyState >= 2),
    its duration is the source's, it starts at 0 and lands on a shot's second when seeked."""
    from backend_app.services.video import pipeline as video_pipeline
    from backend_app.settings import load_settings

    clip = media.make_clip(tmp_path / "cuts.mp4", seconds=6, fps=25, size=(320, 180), cuts=(2.0, 4.0))
    source = tmp_path / "film.mkv"
    subprocess.run(
        [media.require_ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-f", "lavfi", "-t", "6", "-i", "sine=f=330"]
        + ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "medium", "-bf", "3"]
        + ["-c:a", "libvorbis", str(source)],
        check=True,
        capture_output=True,
    )
    settings = load_settings({}, ai_provider="offline", data_dir=str(tmp_path / "data"))
    out = video_pipeline.analyse_file(str(source), str(tmp_path / "work"), settings)
    assert "preview_copy" in out.timings, out.timings
    (tmp_path / "work" / "page.html").write_text(
        '<video id="player" muted preload="auto" src="preview.mp4"></video>', encoding="utf-8"
    )
    page = browser.new_page()
    page.goto((tmp_path / "work" / "page.html").as_uri())
    page.wait_for_function(f"() => {PLAYER}.readyState >= 2", timeout=30_000)
    assert page.evaluate(f"() => {PLAYER}.duration") == pytest.approx(6.0, abs=0.2)
    assert page.evaluate(f"() => {PLAYER}.currentTime") == 0
    starts = [shot["start_frame"] / 25 for shot in out.shots]
    assert starts == pytest.approx([0.0, 2.0, 4.0], abs=0.05)
    for start in starts[1:]:
        page.evaluate(f"() => {{ {PLAYER}.currentTime = {start}; }}")
        page.wait_for_function(f"() => !{PLAYER}.seeking && {PLAYER}.readyState >= 2", timeout=15_000)
        _near(page, start)
    assert page.evaluate(f"() => {PLAYER}.error") is None


def test_a_source_with_damaged_data_gets_an_encoded_preview_chromium_plays_to_the_end(browser, tmp_path):
    """The same kind of MKV with random bytes written over two places: a copy would carry packets
    Chromium's decoder refuses (measured: PIPELINE_ERROR_DECODE at the first, no seeking past it),
    so the preview is encoded from the frames that decode; Chromium plays it to its end."""
    import random

    from backend_app.services.video import pipeline as video_pipeline
    from backend_app.services.video.report import partial_decode_warning
    from backend_app.settings import load_settings

    clip = media.make_clip(tmp_path / "cuts.mp4", seconds=8, fps=25, size=(320, 180), cuts=(2.0, 4.0, 6.0))
    whole = tmp_path / "whole.mkv"
    subprocess.run(
        [media.require_ffmpeg(), "-v", "error", "-y", "-i", str(clip), "-c:v", "libx264", "-preset", "medium"]
        + ["-bf", "3", "-pix_fmt", "yuv420p", str(whole)],
        check=True,
        capture_output=True,
    )
    data, rng = bytearray(whole.read_bytes()), random.Random(7)
    for share in (0.36, 0.7):
        start = int(len(data) * share)
        data[start : start + 3000] = bytes(rng.randrange(256) for _ in range(3000))
    source = tmp_path / "damaged.mkv"
    source.write_bytes(bytes(data))

    settings = load_settings({}, ai_provider="offline", data_dir=str(tmp_path / "data"))
    out = video_pipeline.analyse_file(str(source), str(tmp_path / "work"), settings)
    # what the pass saw: the demuxer lost its way in the damage (fewer frames than declared)
    assert out.passed.damaged_packets or partial_decode_warning(out.meta, out.passed)
    assert "preview_encode" in out.timings and "preview_copy" not in out.timings, out.timings
    (tmp_path / "work" / "page.html").write_text(
        '<video id="player" muted preload="auto" src="preview.mp4"></video>', encoding="utf-8"
    )
    page = browser.new_page()
    page.goto((tmp_path / "work" / "page.html").as_uri())
    page.wait_for_function(f"() => {PLAYER}.readyState >= 2", timeout=30_000)
    page.evaluate(f"() => {{ {PLAYER}.playbackRate = 16; {PLAYER}.play(); }}")
    page.wait_for_function(f"() => {PLAYER}.ended || {PLAYER}.error", timeout=30_000)
    assert page.evaluate(f"() => {PLAYER}.error && {PLAYER}.error.message") is None
    assert page.evaluate(f"() => {PLAYER}.currentTime") == pytest.approx(page.evaluate(f"() => {PLAYER}.duration"))
