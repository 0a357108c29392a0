"""The search index: scoped by construction, in sync through triggers, safe with any query text."""

import random

import pytest
from sqlalchemy import delete, text

from backend_app.extensions import db
from backend_app.models import ShotDocument
from backend_app.services import sessions
from backend_app.services.chat import index_status, search
from backend_app.services.chat import query as search_query
from backend_app.services.chat.query import snippet, terms
from backend_app.tenancy import Tenant
from tests import chat_data


def test_isolation_matrix(app):
    corpus = chat_data.build(seed=11)
    rng = random.Random(1234)
    checked = 0
    for _ in range(120):
        user = rng.choice(corpus.users)
        session_id = rng.choice([None, *corpus.docs[user.id]])
        query = chat_data.random_query(rng, corpus)
        hits = search.search(Tenant(user.id, session_id), query, limit=50)
        allowed = corpus.doc_ids(user.id, session_id)
        for hit in hits:
            assert hit.document_id in allowed, (query, hit)
            assert corpus.owner[hit.document_id][0] == user.id
            checked += 1
        # Scoped search finds the user's own marker whenever it is asked for.
        own = [corpus.markers[(user.id, s)] for s in corpus.docs[user.id] if session_id in (None, s)]
        for marker in own:
            if marker in query.split():
                assert any(marker in h.title for h in hits), (query, marker)
    assert checked > 100


def test_other_users_marker_finds_nothing(app):
    corpus = chat_data.build(seed=3, users=2, sessions=2)
    alice, bob = corpus.users
    for (owner, session_id), marker in corpus.markers.items():
        if owner == bob.id:
            assert search.search(Tenant(alice.id), marker) == []
            assert search.search(Tenant(bob.id), marker)
            other_sessions = [s for s in corpus.docs[bob.id] if s != session_id]
            assert search.search(Tenant(bob.id, other_sessions[0]), marker) == []


def test_ranking_prefers_more_matching_terms_and_title(app):
    corpus = chat_data.build(seed=5, users=1, sessions=1, analyses=1, shots=1)
    user = corpus.users[0]
    session_id = next(iter(corpus.docs[user.id]))
    analysis = chat_data.add_analysis(user.id, session_id, "ranking.mp4")
    chat_data.add_document(user.id, session_id, analysis.id, 0, "Parking lot", "A green van is parked.")
    chat_data.add_document(user.id, session_id, analysis.id, 1, "Green van at night", "A green van drives by.")
    chat_data.add_document(user.id, session_id, analysis.id, 2, "Garden", "Green leaves only.")
    db.session.commit()
    hits = search.search(Tenant(user.id), "where is the green van?")
    assert [h.shot for h in hits[:2]] == [1, 0] and hits[0].filename == "ranking.mp4"
    # The hit names its shot; the API turns that into the keyframe URL (tests/api/test_chat.py).
    assert (hits[0].analysis_id, hits[0].shot) == (analysis.id, 1)


def test_stemming_and_german_words(app):
    corpus = chat_data.build(seed=5, users=1, sessions=1, analyses=1, shots=1)
    user = corpus.users[0]
    session_id = next(iter(corpus.docs[user.id]))
    analysis = chat_data.add_analysis(user.id, session_id, "de.mp4")
    chat_data.add_document(user.id, session_id, analysis.id, 0, "Autos", "Zwei Autos fahren über die Brücke.")
    chat_data.add_document(user.id, session_id, analysis.id, 1, "Cars", "Two cars are driving.")
    db.session.commit()
    assert {h.shot for h in search.search(Tenant(user.id), "Wo fahren die Autos über die Brücke?")} == {0}
    assert 1 in {h.shot for h in search.search(Tenant(user.id), "which car drives")}


def test_hostile_queries_never_raise(app):
    corpus = chat_data.build(seed=2, users=2, sessions=1, analyses=1, shots=2)
    user = corpus.users[0]
    for query in chat_data.HOSTILE + [f"car {q} red" for q in chat_data.HOSTILE]:
        hits = search.search(Tenant(user.id), query)
        assert all(h.document_id in corpus.doc_ids(user.id) for h in hits), query
    assert search.search(Tenant(user.id), "car " + chat_data.HOSTILE[3])


def test_triggers_keep_the_index_in_sync_on_insert_update_delete(app):
    corpus = chat_data.build(seed=9, users=2, sessions=2, analyses=1, shots=2)
    user = corpus.users[0]
    tenant = Tenant(user.id)
    assert index_status.health(None)["in_sync"] is True
    doc = db.session.get(ShotDocument, next(iter(corpus.doc_ids(user.id))))
    doc.text = "An ostrich runs across the frame."
    db.session.commit()
    assert [h.document_id for h in search.search(tenant, "ostrich")] == [doc.id]
    db.session.execute(delete(ShotDocument).where(ShotDocument.analysis_id == doc.analysis_id))
    db.session.commit()
    assert search.search(tenant, "ostrich") == []
    health = index_status.health(None)
    assert health["in_sync"] is True and health["documents"] == health["indexed"] == len(corpus.owner) - 2


def test_deleting_a_session_removes_its_index_entries(app):
    corpus = chat_data.build(seed=4, users=1, sessions=2, analyses=1, shots=2)
    user = corpus.users[0]
    gone, kept = list(corpus.docs[user.id])
    sessions.delete(Tenant(user.id), gone)
    marker = corpus.markers[(user.id, gone)]
    assert search.search(Tenant(user.id), marker) == []
    stats = index_status.stats(Tenant(user.id))
    assert stats["shots"] == stats["documents"] == 2 and [s["session_id"] for s in stats["sessions"]] == [kept]
    assert index_status.health(None)["in_sync"] is True


@pytest.mark.sqlite_only
def test_health_detects_drift_and_rebuild_repairs_it(app):
    corpus = chat_data.build(seed=8, users=1, sessions=1, analyses=1, shots=3)
    db.session.execute(text("INSERT INTO shot_fts(shot_fts) VALUES ('delete-all')"))
    db.session.commit()
    health = index_status.health(None)
    assert health["in_sync"] is False and health["missing"] == 3 and health["indexed"] == 0
    assert search.rebuild() == 3
    assert index_status.health(None)["in_sync"] is True
    user = corpus.users[0]
    assert search.search(Tenant(user.id), corpus.markers[next(iter(corpus.markers))])


@pytest.mark.sqlite_only
def test_owner_tokens_survive_the_tokenizer_exactly(app):
    corpus = chat_data.build(seed=1, users=4, sessions=2, analyses=1, shots=1)
    db.session.execute(text("CREATE VIRTUAL TABLE temp.fts_vocab USING fts5vocab(main, shot_fts, 'row')"))
    vocabulary = set(db.session.execute(text("SELECT term FROM temp.fts_vocab")).scalars())
    for user in corpus.users:
        assert f"u{user.id}0" in vocabulary
        for session_id in corpus.docs[user.id]:
            assert f"s{session_id}0" in vocabulary


def test_stats_and_health_are_the_users_own(app):
    corpus = chat_data.build(seed=6, users=3, sessions=2, analyses=2, shots=2)
    for user in corpus.users:
        stats = index_status.stats(Tenant(user.id))
        assert stats["analyses"] == 4 and stats["shots"] == stats["documents"] == 8
        assert {s["session_id"] for s in stats["sessions"]} == set(corpus.docs[user.id])
        assert all(s["documents"] == 4 for s in stats["sessions"])
        health = index_status.health(Tenant(user.id))
        assert health["documents"] == health["indexed"] == 8 and health["in_sync"]


def test_search_requires_a_tenant(app):
    with pytest.raises(TypeError):
        search.search("user-id", "car")


def test_terms_and_snippets_are_plain_words_from_the_text():
    assert terms('NEAR("red" car*) -blue AND the OR') == ["near", "red", "car", "blue"]
    assert terms("?!*") == [] and terms("wo ist das Auto") == ["auto"]
    body = "Opening titles. A red car passes the bakery. Closing credits."
    assert snippet(body, ["cars"]) == "A red car passes the bakery."
    long = "word " * 100
    assert snippet(long, ["word"]).endswith("…") and len(snippet(long, ["word"])) <= 222


@pytest.mark.parametrize(
    "question, step",
    [
        ("and the one before?", -1),
        ("the previous shot", -1),
        ("und davor?", -1),
        ("What came earlier?", -1),
        ("what comes next?", 1),
        ("Show me the next scene", 1),
        ("und die nächste Szene?", 1),
        ("after that?", 1),
        ("what happens before the red car?", None),
        ("shot 3 after", None),
        ("before and after", None),
        ("next", 1),
        ("the red one", None),
    ],
)
def test_a_question_asking_only_for_the_shot_before_or_after_is_a_step(question, step):
    assert search_query.relative_step(question) == step
