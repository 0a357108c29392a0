"""A corpus for chat and search tests: several users, several sessions each, overlapping words.

Every document mixes shared vocabulary (every user has red cars and dark shots) with marker
words unique to its user and session, so a leak across users or sessions shows up as a
foreign marker in a result.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backend_app.extensions import db
from backend_app.models import Analysis, Session, ShotDocument
from tests.factories import make_user

SHARED = [
    "red",
    "car",
    "dark",
    "bright",
    "person",
    "street",
    "tree",
    "bicycle",
    "face",
    "kitchen",
    "sunset",
    "motion",
    "blurry",
    "Straße",
    "Fahrrad",
]
SYLLABLES = ["zor", "blat", "quim", "vex", "drul", "mip", "taz", "gorn", "plex", "wub", "yak", "frin"]


@dataclass
class Corpus:
    users: list = field(default_factory=list)
    # user_id -> session_id -> list of ShotDocument ids
    docs: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # document id -> (user_id, session_id, title + text, filename)
    owner: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    markers: dict[tuple[str, str], str] = field(default_factory=dict)

    def words_of(self, user_id: str, session_id: str | None = None) -> set[str]:
        """Every word (folded) of the user's (session's) documents and filenames."""
        from backend_app.services.chat.query import fold, words

        out: set[str] = set()
        for doc_user, doc_session, body, filename in self.owner.values():
            if doc_user == user_id and (session_id is None or doc_session == session_id):
                out.update(fold(w) for w in words(body + " " + filename))
        return out

    def doc_ids(self, user_id: str, session_id: str | None = None) -> set[str]:
        return {d for s, ids in self.docs[user_id].items() if session_id in (None, s) for d in ids}


def marker_word(rng: random.Random, taken: set[str]) -> str:
    while True:
        word = "".join(rng.choice(SYLLABLES) for _ in range(3))
        if word not in taken:
            taken.add(word)
            return word


def add_document(
    user_id: str, session_id: str, analysis_id: str, shot: int, title: str, body: str, start_s: float = 0.0
) -> ShotDocument:
    doc = ShotDocument(
        user_id=user_id,
        session_id=session_id,
        analysis_id=analysis_id,
        shot_index=shot,
        start_s=start_s,
        end_s=start_s + 2.5,
        title=title,
        text=body,
        keyframe_key=f"users/{user_id}/analyses/{analysis_id}/keyframes/{shot}.jpg",
    )
    db.session.add(doc)
    return doc


def add_analysis(user_id: str, session_id: str, filename: str) -> Analysis:
    analysis = Analysis(
        user_id=user_id,
        session_id=session_id,
        filename=filename,
        content_type="video/mp4",
        declared_size=1000,
        storage_key="pending",
    )
    db.session.add(analysis)
    db.session.flush()
    return analysis


def build(seed: int = 7, users: int = 3, sessions: int = 2, analyses: int = 2, shots: int = 3) -> Corpus:
    """Create the corpus in the current app's database and commit it."""
    rng = random.Random(seed)
    corpus, taken = Corpus(), set()
    for u in range(users):
        user = make_user()
        corpus.users.append(user)
        corpus.docs[user.id] = {}
        for s in range(sessions):
            session = Session(user_id=user.id, name=f"session {u}-{s}")
            db.session.add(session)
            db.session.flush()
            marker = marker_word(rng, taken)
            corpus.markers[(user.id, session.id)] = marker
            corpus.docs[user.id][session.id] = []
            for a in range(analyses):
                filename = f"{marker}-{a}.mp4"
                analysis = add_analysis(user.id, session.id, filename)
                for k in range(shots):
                    shared = rng.sample(SHARED, 3)
                    title = f"Shot {k + 1}: {shared[0]} {marker}"
                    body = (
                        f"A {shared[0]} {shared[1]} near the {shared[2]}. Brightness {rng.randint(10, 99)}, "
                        f"motion {rng.randint(0, 9)}. Marker {marker} seen."
                    )
                    doc = add_document(user.id, session.id, analysis.id, k, title, body, start_s=2.5 * k)
                    db.session.flush()
                    corpus.docs[user.id][session.id].append(doc.id)
                    corpus.owner[doc.id] = (user.id, session.id, f"{title} {body}", filename)
    db.session.commit()
    return corpus


HOSTILE = [
    '"',
    '""',
    "'",
    "NEAR(car red)",
    "car*",
    "-car",
    "car -red",
    "AND OR NOT",
    "(((",
    ")",
    "^car",
    "title:car",
    "{title text}: car",
    "scope : u",
    "\\",
    "%",
    "_",
    "'; DROP TABLE users; --",
    "😀 car 🚗",
    "Straße über Fahrräder",
    "中文 车",
    "a" * 5000,
    "\x00car",
    "NEAR/2",
    "*",
    ":",
    "''||'",
    "car:* & !red",
    "<->",
    "' | '",
    "u0 s0",
]


def random_query(rng: random.Random, corpus: Corpus) -> str:
    """Shared words, other users' markers and hostile fragments, mixed."""
    pool = SHARED + list(corpus.markers.values())
    parts = rng.sample(pool, rng.randint(1, 4))
    if rng.random() < 0.3:
        parts.append(rng.choice(HOSTILE)[:300])
    return " ".join(parts) + rng.choice(["", "?", " please", " wo ist"])
