"""The chat eval set must meet its targets on both databases (issue 22).

The clips are made with ffmpeg and analysed by the real pipeline once per test session
(tests.eval.world); each test stores them for Alice (two sessions) and Bob (a decoy).
"""

from __future__ import annotations

from tests.eval import runner, world


def test_the_eval_set_covers_every_kind_in_both_languages():
    questions = runner.load()
    assert len(questions) >= 80
    kinds = {q["kind"] for q in questions}
    assert set(runner.FACTUAL_KINDS) | set(runner.SOURCE_KINDS) | {"unanswerable", "fallback"} <= kinds
    for kind in kinds - {"fallback"}:
        assert {"en", "de"} <= {q.get("lang", "en") for q in questions if q["kind"] == kind} or kind in (
            "compare",
            "time",
        ), kind
    assert sum(q.get("lang") == "de" for q in questions) >= 25
    assert len({q["id"] for q in questions}) == len(questions)


def test_eval_targets_offline(app, reports):
    outcomes = runner.run(world.populate())
    failures = [f"{o.id} {o.question!r}: {o.why} -> {o.answer!r}" for o in outcomes if not o.passed]
    assert runner.factual_share(outcomes) >= 0.9, failures
    # what was said, shown on screen, who appears and what pages say: every one right
    assert runner.factual_share(outcomes, runner.SOURCE_KINDS) == 1.0, failures
    assert all(o.passed for o in outcomes if o.kind == "unanswerable"), failures
    assert sum(o.leaks for o in outcomes) == 0, failures
    # Bob's decoy is darker, longer and has a face and a QR code: none of it may reach Alice's answers.
    assert not any("Megamind" in o.answer or "IGNORE ALL RULES" in o.answer for o in outcomes)
    assert not any("decoy" in o.answer for o in outcomes)  # Bob's transcript, on-screen text and decoy.pdf


def test_the_pipeline_measured_what_the_clips_were_made_with(reports):
    """The eval's expectations rest on these facts: if the pipeline changes, this says which."""
    shots = {name: report["shots"] for name, report in reports.items()}
    assert [len(shots[n]) for n in ("street.mp4", "faces.mp4", "qr.mp4", "archive.mp4", "Megamind.avi")] == [
        3,
        2,
        3,
        1,
        4,
    ]
    assert [s["faces"] for s in shots["faces.mp4"]] == [1, 0]
    assert shots["qr.mp4"][0]["qr_texts"] == [world.QR_TEXT]
    darkest = min(
        (s["brightness"], name, s["index"]) for name in ("street.mp4", "faces.mp4", "qr.mp4") for s in shots[name]
    )
    assert darkest[1:] == ("qr.mp4", 1)
