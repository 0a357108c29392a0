"""Which answer a question about what was said, shown or written gets, at the edges: the eval
world's lecture session (tests/eval/world.py: a transcript, on-screen text, people, report.pdf)."""

from __future__ import annotations

from backend_app.extensions import db
from backend_app.models import Session
from backend_app.services.chat import conversation, passages
from tests.eval import world


def _ask(user, session_id, question: str) -> dict:
    return conversation.answer(conversation.prepare(user.id, question, session_id, mode="offline"))


def test_questions_near_the_new_kinds_keep_their_own_answers(app, reports):
    made = world.populate()
    carol, lecture = made["carol"], made["sessions"]["lecture"].id
    # a QR code "says" something: the shots' QR answer, not the transcript
    qr = _ask(carol, lecture, "What does the QR code say?")
    assert not qr["answer"].startswith(("At ", "The transcript")) and "QR code" in qr["answer"]
    # a sign is read, not spoken
    sign = _ask(carol, lecture, "What does the sign say?")
    assert sign["answer"].startswith("On-screen text was read 2 times")
    assert {c["kind"] for c in sign["citations"]} == {"text"}
    # shots with a person are counted as shots with faces
    shots = _ask(carol, lecture, "How many shots have a person?")
    assert shots["answer"].startswith("2 of 4 shots have faces"), shots["answer"]
    # a follow-up after a speech answer or a page answer has no shot to lean on, and still answers
    _ask(carol, lecture, "When does someone say lighthouse?")
    after = _ask(carol, lecture, "and the one before?")
    own = {made["videos"]["lecture.mp4"].id, made["documents"]["report.pdf"].id}
    assert after["answer"] and all((c.get("analysis_id") or c.get("document_id")) in own for c in after["citations"])
    _ask(carol, lecture, "Summarise page 4")
    assert _ask(carol, lecture, "and when does it end?")["answer"]
    # Alice's trip has no transcript: speech stays "I can't tell"
    trip = made["sessions"]["trip"].id
    assert _ask(made["alice"], trip, "When does someone say lighthouse?")["answer"].startswith("I can't tell")


def test_a_session_with_only_a_document_is_answered_from_its_pages(app, reports):
    made = world.populate()
    carol = made["carol"]
    reading = Session(user_id=carol.id, name="reading")
    db.session.add(reading)
    db.session.flush()
    pages = [(1, "The salt marsh floods at spring tide. Birds nest in the reeds.", ["Chapter 1: Marsh"])]
    passages.index_document_pages(carol.id, reading.id, "b" * 32, "marsh.pdf", pages)
    db.session.commit()
    summary = _ask(carol, reading.id, "summarise page 1")
    assert summary["answer"].startswith("Page 1 of marsh.pdf: “The salt marsh floods at spring tide.")
    assert [(c["kind"], c["document_id"], c["page"]) for c in summary["citations"]] == [("page", "b" * 32, 1)]
    found = _ask(carol, reading.id, "where do birds nest?")
    assert found["answer"].startswith("These passages and shots look closest to your question (1 page):")
    assert "marsh.pdf, page 1: “Birds nest in the reeds.”" in found["answer"]
    nothing = _ask(carol, reading.id, "pelicans")
    assert nothing == {
        **nothing,
        "citations": [],
        "answer": "I can't tell that from the analysis: nothing in this session's document pages mentions \"pelicans\".",
    }
    words_unknown = _ask(carol, made["sessions"]["lecture"].id, "buildings")
    assert words_unknown["answer"] == (
        "I can't tell that from the analysis: nothing in this session's shots, speech, on-screen text or document "
        'pages mentions "buildings".'
    )


def test_a_named_video_without_a_transcript_or_text_says_so(app, reports):
    made = world.populate()
    carol, lecture = made["carol"], made["sessions"]["lecture"]
    quiet = world.with_extras("none", reports["faces.mp4"])
    from backend_app.models import Analysis
    from backend_app.services.chat import shot_documents

    analysis = Analysis(
        user_id=carol.id,
        session_id=lecture.id,
        filename="quiet.mp4",
        content_type="video/mp4",
        declared_size=1,
        storage_key="eval",
        report=quiet,
    )
    db.session.add(analysis)
    db.session.flush()
    shot_documents.replace_for(analysis, quiet)
    passages.index_analysis_extras(analysis, quiet)
    db.session.commit()
    said = _ask(carol, lecture.id, "What is said in quiet.mp4?")["answer"]
    assert said == "quiet.mp4 has no transcript because the speech analyser was off when it was analysed."
    shown = _ask(carol, lecture.id, "What text appears on screen in quiet.mp4?")
    assert shown["answer"] == "No text was read on screen in quiet.mp4." and shown["citations"] == []
    # the lecture's own answers are unchanged by the quiet video beside it
    assert _ask(carol, lecture.id, "When does someone say lighthouse?")["answer"].startswith("At 0:02 in lecture.mp4")
