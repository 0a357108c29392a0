"""Textbook pages made in the test: headings, defining sentences and prose that uses the terms.

Terms are invented words (so nothing outside the text could supply them); ``defined`` lists
which page defines which term, for assertions that do not trust the generator.
"""

from __future__ import annotations

import random

SYLLABLES = "ka lo mi ren tus var pel dor qui sam bet lix nor fa zen tor".split()
KINDS = ["process", "structure", "measure", "method", "property", "signal", "layer", "protocol"]
SUBJECTS = ["a cell", "the network", "a solution", "the reactor", "a sample", "the model", "the crystal"]
VERBS = ["controls", "reduces", "stabilises", "amplifies", "describes", "limits", "shapes"]
OBJECTS = ["the flow of energy", "the rate of change", "the number of errors", "its response to heat"]
DE_KINDS = ["Verfahren", "Messgröße", "Eigenschaft", "Struktur"]


def term_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def pages(count: int = 50, *, seed: int = 7, german_every: int = 0) -> tuple[list[tuple[int, str, list[str]]], dict]:
    """``count`` pages of about 300 words; and ``{term: page}`` for every term the pages define."""
    rng = random.Random(seed)
    defined: dict[str, int] = {}
    made: list[tuple[int, str, list[str]]] = []
    known: list[str] = []
    for number in range(1, count + 1):
        new = []
        while len(new) < 2:
            name = term_name(rng)
            if name not in defined and name not in new:
                new.append(name)
        heading = f"Chapter {number}: {new[0]} and {new[1]}"
        lines = [heading]
        german = german_every and number % german_every == 0
        for name in new:
            if german:
                lines.append(
                    f"{name} ist ein {rng.choice(DE_KINDS)}, das {rng.choice(OBJECTS)} in jeder Probe bestimmt."
                )
            else:
                lines.append(f"{name} is a {rng.choice(KINDS)} that {rng.choice(VERBS)} {rng.choice(OBJECTS)}.")
            defined[name] = number
        known += new
        while sum(len(line.split()) for line in lines) < 300:
            term = rng.choice(known[-8:])
            lines.append(
                f"In practice {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
                f"when {term} is measured {rng.choice(['twice', 'carefully', 'again', 'early'])}."
            )
        made.append((number, "\n".join(lines), [heading]))
    return made, defined


def make_document(user, pages_: list[tuple[int, str, list[str]]], *, session=None, status: str = "completed",
                  filename: str = "notes.pdf"):  # fmt: skip
    """A document row with these pages, as the extraction leaves it (text made in the test)."""
    from backend_app.extensions import db
    from backend_app.models.documents import Document, DocumentPage
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant

    session = session or sessions.create(Tenant(user.id), "Study")
    document = Document(
        user_id=user.id,
        session_id=session.id,
        filename=filename,
        content_type="application/pdf",
        kind="pdf",
        size_bytes=1000,
        storage_key=f"users/{user.id}/documents/x/source",
        status=status,
        page_count=len(pages_),
    )
    db.session.add(document)
    db.session.flush()
    for number, text, headings in pages_:
        db.session.add(
            DocumentPage(
                document_id=document.id,
                user_id=user.id,
                session_id=session.id,
                number=number,
                text=text,
                words=len(text.split()),
                headings=headings,
            )  # fmt: skip
        )
    db.session.commit()
    return document
