"""The OCR adapter (adapters/ai/ocr.py) on pictures drawn here with a real font: English and German
text read back with its umlauts and ß, boxes where the text was drawn, the wheel's own models and no
network."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

from backend_app.adapters.ai import ocr
from tests.analysers.text_media import drawn

pytestmark = pytest.mark.skipif(
    bool(ocr.INFO.missing()), reason=f"not installed: {ocr.INFO.missing()} (pip install -r requirements-ai.txt)"
)


@pytest.fixture(scope="module")
def offline():
    """Any attempt to open a network connection while the engine loads or reads fails the test."""
    real = socket.socket.connect

    def refuse(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"OCR tried to reach {address}")
        return real(self, address)

    socket.socket.connect = refuse
    yield
    socket.socket.connect = real


def test_english_and_german_lines_are_read_with_umlauts_and_their_boxes(offline):
    picture = drawn([("Quarterly Report", (80, 80)), ("Größe über Äpfel", (80, 300)), ("Straße", (600, 420))])
    lines = ocr.read_text(picture)
    by_text = {line.text: line for line in lines}
    assert set(by_text) == {"Quarterly Report", "Größe über Äpfel", "Straße"}, lines
    x, y, w, h = by_text["Größe über Äpfel"].box
    assert abs(x - 80) <= 15 and abs(y - 300) <= 20 and 250 <= w <= 450 and 30 <= h <= 80
    x, y, w, h = by_text["Straße"].box
    assert abs(x - 600) <= 15 and abs(y - 420) <= 20
    assert all(0.5 <= line.score <= 1 for line in lines)
    assert [line.text for line in lines][0] == "Quarterly Report"  # top to bottom


def test_light_text_on_dark_and_grey_pictures_are_read():
    picture = drawn([("Zürich Hauptbahnhof", (60, 200))], bg=(20, 20, 40), fg=(240, 240, 240))
    assert [line.text for line in ocr.read_text(picture)] == ["Zürich Hauptbahnhof"]
    grey = drawn([("Annual Meeting 2024", (60, 200))])[:, :, 0].copy()
    assert [line.text for line in ocr.read_text(grey)] == ["Annual Meeting 2024"]


def test_a_picture_without_text_has_no_lines_and_bad_input_is_refused():
    rng = np.random.default_rng(3)
    smooth = np.repeat(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], 360, axis=0).repeat(3, axis=2)
    assert ocr.read_text(smooth) == []
    assert ocr.read_text(np.full((360, 640, 3), 128, np.uint8)) == []
    with pytest.raises(ValueError, match="8-bit"):
        ocr.read_text(rng.random((10, 10, 3)))
    with pytest.raises(ValueError, match="shape"):
        ocr.read_text(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="numpy array"):
        ocr.read_text(None)


def test_the_engine_loads_once_from_the_wheels_own_files_with_one_thread(offline):
    first = ocr.warm()
    assert ocr.warm() is first and ocr.loaded()
    paths = ocr.model_paths()
    assert all(
        os.path.isfile(p) and os.path.dirname(p).endswith(os.path.join("rapidocr", "models")) for p in paths.values()
    )
    assert first.cfg.Det.model_path == paths["Det"] and first.cfg.Rec.model_path == paths["Rec"]
    assert first.text_det is not None and first.text_rec is not None  # loaded by warm, not by the first picture
    assert first.cfg.EngineConfig.onnxruntime.intra_op_num_threads == 1


def test_info_declares_what_the_registry_and_health_read():
    assert ocr.INFO.name == "text" and ocr.INFO.input == "frames" and ocr.INFO.default
    assert ocr.INFO.requirements == "requirements-ai.txt" and "Apache-2.0" in ocr.INFO.licence
    assert ocr.INFO.packages == ("rapidocr", "onnxruntime") and ocr.INFO.missing() == []


def test_in_video_a_box_taller_than_a_line_of_text_is_not_recognised():
    # the detector's whole-frame boxes on busy textures are what this skips; a drawn giant word stands in
    giant = drawn([("OK", (120, 40))], size=(640, 360), px=200)
    assert [line.text for line in ocr.read_text(giant)] == ["OK"]  # scans: every box
    assert ocr.read_text(giant, detect_side=640, tallest=ocr.VIDEO_TALLEST_LINE) == []
    # lines of ordinary sizes (22 px up to a title) are still read in video
    lines = drawn([("Quarterly Report", (40, 40)), ("Größe über Äpfel", (40, 200))], size=(640, 360), px=22)
    lines[100:190, 40:600] = drawn([("Title Slide", (0, 0))], size=(560, 90), px=72)
    read = ocr.read_text(lines, detect_side=640, tallest=ocr.VIDEO_TALLEST_LINE)
    assert [line.text for line in read] == ["Quarterly Report", "Title Slide", "Größe über Äpfel"], read
