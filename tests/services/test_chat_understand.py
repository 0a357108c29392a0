"""The answer layer's rules, pure: what a question asks (English and German) and how times read."""

from __future__ import annotations

import pytest

from backend_app.services.chat import understand
from backend_app.services.chat.phrasing import clock
from tests.chat_data import HOSTILE


@pytest.mark.parametrize(
    "question, kind, fields",
    [
        ("How many shots are there?", "count", {"what": "shots"}),
        ("wie viele Gesichter?", "count", {"what": "faces"}),
        ("How many cars are there?", "unanswerable", {"unknown": "cars"}),
        ("Which shot is darkest?", "superlative", {"measure": "brightness", "order": "min"}),
        ("die drei hellsten Szenen", "superlative", {"measure": "brightness", "order": "max", "k": 3}),
        ("the second longest shot", "superlative", {"measure": "duration", "rank": 1}),
        ("Welche Szene ist am unschärfsten?", "superlative", {"measure": "sharpness", "order": "min"}),
        ("Which video is longest?", "compare", {"measure": "duration", "order": "max"}),
        ("What is the 5th shot?", "position", {"n": 4}),
        ("what is in shot 3?", "position", {"n": 2}),  # the human label: index 2
        ("Was zeigt die letzte Szene?", "position", {"n": -1}),
        ("what happens at 1:02.5?", "at", {"seconds": 62.5}),
        ("was passiert bei 12 Sekunden?", "at", {"seconds": 12.0}),
        ("and when does it end?", "time", {"attribute": "end", "back": True}),
        ("Wann fängt es an?", "time", {"attribute": "start"}),
        ("wie lange dauert das?", "time", {"attribute": "duration", "back": True}),
        ("and the one before?", "step", {"step": -1, "back": True}),
        ("what happens after the red scene?", "step", {"step": 1, "anchor": ["red"]}),
        ("Was kommt nach der Szene mit dem Gesicht?", "step", {"step": 1, "anchor": ["gesicht"]}),
        ("Is there a QR code?", "presence", {"what": "qr", "back": False}),
        ("Gibt es etwas Gelbes?", "presence", {"what": "colour", "colour": "yellow"}),
        ("Gibt es dunkle Szenen?", "presence", {"what": "dark"}),
        ("is there a red car?", "presence", {"extra": ["car"]}),  # compose hands it to retrieval
        ("What does the narrator say?", "unanswerable", {"what": "speech"}),
        ("Who is the man with glasses?", "unanswerable", {}),
        ("kitchen table", None, {}),
    ],
)
def test_questions_are_read_as(question, kind, fields):
    intent = understand.parse(question)
    assert intent.kind == kind, intent
    for name, expected in fields.items():
        assert getattr(intent, name) == expected, (name, intent)


def test_any_text_parses_without_error():
    for text in [*HOSTILE, "", " ", "0:99", "shot 99999", "the 999th shot", "wie viele", "and", "?" * 500]:
        understand.parse(text)


def test_times_read_as_a_clock():
    assert [clock(s) for s in (0, 3.2, 4.0, 59.96, 62, 3599.9)] == ["0:00", "0:03.2", "0:04", "1:00", "1:02", "59:59.9"]
