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


@dataclass
class Sources:
    """Per (user, session): a video whose report has a transcript, on-screen text and people, and a
    document's pages; every text carries the scope's marker word and shared words."""

    users: list = field(default_factory=list)
    sessions: dict[str, list[str]] = field(default_factory=dict)  # user_id -> session ids
    markers: dict[tuple[str, str], str] = field(default_factory=dict)
    owner: dict[str, tuple[str, str]] = field(default_factory=dict)  # analysis or document id -> (user, session)

    def allowed(self, user_id: str, session_id: str | None) -> set[str]:
        return {i for i, (u, s) in self.owner.items() if u == user_id and session_id in (None, s)}

    def foreign_markers(self, user_id: str, session_id: str | None) -> set[str]:
        return {m for (u, s), m in self.markers.items() if u != user_id or session_id not in (None, s)}


def source_report(marker: str) -> dict:
    """A small report with the fields of the speech, OCR and people analysers."""
    shots = [
        {
            "index": i,
            "start_s": 2.0 * i,
            "end_s": 2.0 * i + 2.0,
            "brightness": 0.5,
            "motion": 0.01,
            "sharpness": 100.0,
            "faces": 1,
            "colors": [{"name": "red"}],
            "description": f"A lighthouse shot {marker}.",
            "people": ["p1"],
            "people_count": 1,
        }
        for i in range(2)
    ]
    return {
        "metadata": {"duration_s": 4.0},
        "shots": shots,
        "warnings": [],
        "transcript": [
            {"start_s": 0.5, "end_s": 1.5, "text": f"The lighthouse keeper {marker} speaks.", "language": "en"},
            {"start_s": 2.5, "end_s": 3.5, "text": f"Tides and harbour {marker}.", "language": "en"},
        ],
        "texts": [{"start_s": 1.0, "end_s": 2.0, "text": f"EXIT {marker}", "box": [0, 0, 10, 10]}],
        "people": [{"id": "p1", "label": "Person A", "shots": [0, 1], "face_url": None}],
    }


def build_sources(seed: int = 5, users: int = 3, sessions: int = 2) -> Sources:
    """Create the sources corpus in the current app's database (as the video and documents jobs
    write it: report, shot documents, passages, pages) and commit it."""
    import uuid

    from backend_app.services.chat import passages, shot_documents

    rng = random.Random(seed)
    corpus, taken = Sources(), set()
    for u in range(users):
        user = make_user()
        corpus.users.append(user)
        corpus.sessions[user.id] = []
        for s in range(sessions):
            session = Session(user_id=user.id, name=f"sources {u}-{s}")
            db.session.add(session)
            db.session.flush()
            marker = marker_word(rng, taken)
            corpus.markers[(user.id, session.id)] = marker
            corpus.sessions[user.id].append(session.id)
            analysis = add_analysis(user.id, session.id, f"{marker}.mp4")
            analysis.report = source_report(marker)
            shot_documents.replace_for(analysis, analysis.report)
            passages.index_analysis_extras(analysis, analysis.report)
            document_id = uuid.uuid4().hex
            pages = [
                (1, f"Introduction {marker}. The lighthouse and the tides.", ["Introduction"]),
                (2, f"Tides rise twice a day {marker}.", ["Chapter 2: Tides"]),
                (4, f"The lighthouse keeper {marker} lived here.", ["Chapter 3: Lighthouse"]),
            ]
            passages.index_document_pages(user.id, session.id, document_id, f"{marker}.pdf", pages)
            corpus.owner[analysis.id] = (user.id, session.id)
            corpus.owner[document_id] = (user.id, session.id)
    db.session.commit()
    return corpus


SOURCE_QUESTIONS = [
    "When does someone say lighthouse?",
    "What is said about the tides?",
    "Was wird gesagt?",
    "What text appears on screen?",
    "When does EXIT appear on screen?",
    "How many people are in the video?",
    "In which shots does the same person appear?",
    "Which shots show Person A?",
    "Summarise page 4",
    "Fasse Seite 2 zusammen",
    "What does chapter 2 say about tides?",
    "Was steht in Kapitel 3 über den keeper?",
    "lighthouse keeper",
    "harbour tides",
]
