"""Spaced repetition of a material's flashcards, per user: Leitner boxes with due dates.

A card starts in box 1 (no review row yet: due now). "Knew it" moves it up a box and makes it
due after that box's interval; "again" sends it back to box 1, due at once (behind the cards
already waiting, as its due time is now). Cards are known by ``card_key``, a hash of question
and answer, so material made again from unchanged text keeps every box.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend_app.errors import NotFound
from backend_app.extensions import db
from backend_app.models.base import utcnow
from backend_app.models.study import FlashcardReview, StudyMaterial
from backend_app.tenancy import Tenant, list_owned

INTERVAL_DAYS = {1: 0, 2: 1, 3: 3, 4: 7, 5: 14}
TOP_BOX = max(INTERVAL_DAYS)


@dataclass(frozen=True)
class Card:
    key: str
    question: str
    answer: str
    page: int
    document_id: str | None
    box: int
    due_at: datetime | None  # None: never reviewed (due now)
    reviews: int


def card_key(card: dict) -> str:
    return hashlib.sha256(f"{card['question']}\x1f{card['answer']}".encode()).hexdigest()[:32]


def cards(tenant: Tenant, material: StudyMaterial) -> list[Card]:
    """The material's cards with the user's box for each, in the material's order."""
    reviews = {r.card_key: r for r in list_owned(FlashcardReview, tenant, FlashcardReview.material_id == material.id)}
    out = []
    for card in (material.data or {}).get("flashcards", []):
        key = card_key(card)
        review = reviews.get(key)
        out.append(
            Card(
                key=key,
                question=card["question"],
                answer=card["answer"],
                page=card["page"],
                document_id=card.get("document_id", material.document_id),
                box=review.box if review else 1,
                due_at=review.due_at if review else None,
                reviews=review.reviews if review else 0,
            )
        )
    return out


def due(tenant: Tenant, material: StudyMaterial, now: datetime | None = None) -> list[Card]:
    """The cards due now: never-reviewed ones first (in order), then by due time."""
    now = now or utcnow()
    waiting = [c for c in cards(tenant, material) if c.due_at is None or c.due_at <= now]
    return sorted(waiting, key=lambda c: (c.due_at is not None, c.due_at or now))


def record(tenant: Tenant, material: StudyMaterial, key: str, knew: bool) -> FlashcardReview:
    """The user's answer to one card: up a box when they knew it, back to box 1 when not."""
    if key not in {card_key(c) for c in (material.data or {}).get("flashcards", [])}:
        raise NotFound("No such flashcard in this study material.", code="FLASHCARD_NOT_FOUND")
    found = list_owned(
        FlashcardReview, tenant, FlashcardReview.material_id == material.id, FlashcardReview.card_key == key
    )
    review = found[0] if found else None
    if review is None:
        review = FlashcardReview(user_id=tenant.user_id, material_id=material.id, card_key=key, box=1, reviews=0,
                                 lapses=0)  # fmt: skip
        db.session.add(review)
    now = utcnow()
    if knew:
        review.box = min(TOP_BOX, review.box + 1)
    else:
        review.box = 1
        review.lapses += 1
    review.interval_days = INTERVAL_DAYS[review.box]
    review.due_at = now + timedelta(days=review.interval_days)
    review.reviewed_at = now
    review.reviews += 1
    db.session.commit()
    return review


def counts(tenant: Tenant, material: StudyMaterial) -> dict[str, int]:
    """How many cards there are, are due now and sit in each box."""
    all_cards = cards(tenant, material)
    now = utcnow()
    boxes = {str(b): sum(c.box == b for c in all_cards) for b in INTERVAL_DAYS}
    due_now = sum(c.due_at is None or c.due_at <= now for c in all_cards)
    return {"cards": len(all_cards), "due": due_now, **{f"box_{k}": v for k, v in boxes.items()}}
