"""Study material is the user's data: the retention purge removes it with its reviews.

Export and erasure are schema-derived (both tables carry ``user_id``: services/ownership.py);
deleting a session or a document takes its material and reviews by the database's cascades.
The purge removes material made before the cutoff (PURGE_RETENTION_H, like the documents it
was made from) once its job is over, and reviews of it first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select

from backend_app.extensions import db
from backend_app.models import Job
from backend_app.models.job import FINISHED
from backend_app.models.study import FlashcardReview, StudyMaterial

CHUNK = 200


def purge_study(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Material created before ``cutoff`` (its job over) and every review of it."""
    old = (
        select(StudyMaterial.id)
        .outerjoin(Job, StudyMaterial.job_id == Job.id)
        .where(StudyMaterial.created_at < cutoff, or_(Job.id.is_(None), Job.status.in_(FINISHED)))
    )
    counts = {"study_materials": 0, "flashcard_reviews": 0}
    if dry_run:
        ids = list(db.session.execute(old).scalars())
        reviews = select(func.count()).select_from(FlashcardReview).where(FlashcardReview.material_id.in_(ids))
        return {"study_materials": len(ids), "flashcard_reviews": int(db.session.execute(reviews).scalar())}
    while ids := list(db.session.execute(old.limit(CHUNK)).scalars()):
        gone = db.session.execute(delete(FlashcardReview).where(FlashcardReview.material_id.in_(ids)))
        counts["flashcard_reviews"] += gone.rowcount or 0
        counts["study_materials"] += (
            db.session.execute(delete(StudyMaterial).where(StudyMaterial.id.in_(ids))).rowcount or 0
        )
        db.session.commit()
    return counts
