"""The passage index (speech, on-screen text, document pages): written per source, found per
tenant, scoped by construction on SQLite (FTS5) and PostgreSQL (full text), gone with its owner."""

from collections import namedtuple

import pytest
from sqlalchemy import func, select, text

from backend_app.extensions import db
from backend_app.models import Passage, Session
from backend_app.services import sessions
from backend_app.services.chat import passage_search, passages
from backend_app.tenancy import Tenant
from tests import chat_data
from tests.factories import make_user

Page = namedtuple("Page", "number text headings")

REPORT = {
    "transcript": [
        {"start_s": 0.4, "end_s": 2.9, "text": "Welcome to the harbour tour.", "language": "en"},
        {"start_s": 42.2, "end_s": 45.0, "text": "The lighthouse was built in 1902.", "language": "en"},
        {"start_s": 50.0, "end_s": 52.0, "text": "   ", "language": "en"},  # silence: not indexed
    ],
    "texts": [
        {"start_s": 12.0, "end_s": 15.0, "text": "Ausfahrt Süd", "box": [10, 10, 200, 40]},
        {"start_s": 3.0, "end_s": 4.0, "text": "HARBOUR MUSEUM", "box": [0, 0, 10, 10]},
    ],
}


def _owner(name="clip.mp4"):
    user = make_user()
    session = Session(user_id=user.id, name="s")
    db.session.add(session)
    db.session.flush()
    return user, session, chat_data.add_analysis(user.id, session.id, name)


def test_analysis_extras_are_written_in_time_order_and_found(app):
    user, session, analysis = _owner("tour.mp4")
    assert passages.index_analysis_extras(analysis, REPORT) == 4
    db.session.commit()
    tenant = Tenant(user.id)
    hits = passage_search.search(tenant, "when is the lighthouse mentioned?")
    assert [(h.kind, h.start_s, h.end_s, h.analysis_id) for h in hits] == [("speech", 42.2, 45.0, analysis.id)]
    assert hits[0].filename == "tour.mp4" and "0:42" in hits[0].title
    # umlauts are found with and without them, on-screen text only when asked for that kind
    assert [h.text for h in passage_search.search(tenant, "Süd", kinds=("text",))] == ["Ausfahrt Süd"]
    assert passage_search.search(tenant, "Süd", kinds=("speech",)) == []
    listed = passage_search.listing(tenant, kinds=("text",), analysis_id=analysis.id)
    assert [h.text for h in listed] == ["HARBOUR MUSEUM", "Ausfahrt Süd"]
    # a re-run replaces, never duplicates
    passages.index_analysis_extras(analysis, {"transcript": REPORT["transcript"][:1]})
    db.session.commit()
    assert [h.kind for h in passage_search.listing(tenant)] == ["speech"]
    assert passage_search.search(tenant, "lighthouse") == []


def test_document_pages_take_objects_dicts_and_tuples(app):
    user, session, _ = _owner()
    pages = [
        Page(1, "Introduction. This report covers tides.", ["Introduction"]),
        {"number": 2, "text": "Tides rise twice a day near the pier.", "headings": ["Chapter 2: Tides"]},
        (3, "", []),  # an empty page is not indexed
        (4, "Summary of the salt marsh survey.", ["Chapter 3"]),
    ]
    written = passages.index_document_pages(user.id, session.id, "d" * 32, "report.pdf", pages)
    db.session.commit()
    assert written == 3
    tenant = Tenant(user.id, session.id)
    hits = passage_search.search(tenant, "chapter 2 tides", kinds=("page",))
    assert hits[0].page == 2 and hits[0].document_id == "d" * 32 and hits[0].title.startswith("report.pdf, page 2")
    assert [h.page for h in passage_search.listing(tenant, document_id="d" * 32)] == [1, 2, 4]
    assert [h.text for h in passage_search.listing(tenant, document_id="d" * 32, page=4)] == [
        "Summary of the salt marsh survey."
    ]
    assert passages.delete_for_document(user.id, "d" * 32) == 3
    db.session.commit()
    assert passage_search.search(tenant, "tides") == []


def test_another_users_or_sessions_passages_are_never_found(app):
    alice, a_session, a_video = _owner()
    bob, b_session, b_video = _owner()
    b_other = Session(user_id=bob.id, name="other")
    db.session.add(b_other)
    db.session.flush()
    passages.index_analysis_extras(b_video, {"transcript": [{"start_s": 1, "end_s": 2, "text": "zorblat secret"}]})
    passages.index_document_pages(bob.id, b_session.id, "e" * 32, "bob.pdf", [(1, "zorblat page", [])])
    passages.index_analysis_extras(a_video, {"texts": [{"start_s": 1, "end_s": 2, "text": "harmless words"}]})
    db.session.commit()
    assert len(passage_search.search(Tenant(bob.id), "zorblat")) == 2
    assert passage_search.search(Tenant(alice.id), "zorblat") == []
    assert passage_search.search(Tenant(alice.id, a_session.id), "zorblat secret page") == []
    assert passage_search.search(Tenant(bob.id, b_other.id), "zorblat") == []
    assert passage_search.listing(Tenant(alice.id)) and all(
        h.analysis_id == a_video.id for h in passage_search.listing(Tenant(alice.id))
    )
    assert passage_search.listing(Tenant(bob.id, b_other.id)) == []
    # a session filter on another user's session finds nothing even with the right words
    assert passage_search.search(Tenant(alice.id, b_session.id), "zorblat") == []
    with pytest.raises(TypeError):
        passage_search.search(bob.id, "zorblat")
    with pytest.raises(TypeError):
        passage_search.listing(bob.id)


def test_hostile_queries_never_raise_and_stay_in_scope(app):
    alice, _, video = _owner()
    bob, _, other = _owner()
    passages.index_analysis_extras(video, {"transcript": [{"start_s": 1, "end_s": 2, "text": "red car near street"}]})
    passages.index_analysis_extras(other, {"transcript": [{"start_s": 1, "end_s": 2, "text": "red car near street"}]})
    db.session.commit()
    for query in chat_data.HOSTILE + [f"car {q} red" for q in chat_data.HOSTILE]:
        hits = passage_search.search(Tenant(alice.id), query)
        assert all(h.analysis_id == video.id for h in hits), query


def test_session_deletion_and_account_erasure_take_the_index_entries(app, client):
    user, session, video = _owner()
    keep = Session(user_id=user.id, name="keep")
    db.session.add(keep)
    db.session.flush()
    passages.index_analysis_extras(video, REPORT)
    passages.index_document_pages(user.id, keep.id, "f" * 32, "kept.pdf", [(1, "lighthouse keeper notes", [])])
    db.session.commit()
    tenant = Tenant(user.id)
    assert passage_search.indexed_count(tenant) == 5
    sessions.delete(tenant, session.id)
    assert [h.kind for h in passage_search.search(tenant, "lighthouse")] == ["page"]
    assert passage_search.indexed_count(tenant) == 1 == passage_search.indexed_count(None)
    if passage_search.backend() == "sqlite":  # the contentless FTS table lost the entries too
        assert db.session.execute(text("SELECT count(*) FROM passage_fts")).scalar() == 1
    db.session.delete(db.session.get(type(user), user.id))
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(Passage)).scalar() == 0
    assert passage_search.indexed_count(None) == 0
