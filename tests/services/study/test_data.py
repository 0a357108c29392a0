"""Study material and reviews are the user's data: the account export holds them (own rows only),
erasure and session or document deletion remove them, the retention purge removes old ones."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models.base import utcnow
from backend_app.models.documents import Document
from backend_app.models.study import FlashcardReview, StudyMaterial
from backend_app.services import retention
from backend_app.services.study import material, reviews
from backend_app.tenancy import Tenant
from tests.factories import PASSWORD, auth_headers, make_user
from tests.services.study.test_offline import ML
from tests.study_text import make_document


def _studied(user) -> tuple[Document, StudyMaterial]:
    """A document of ML with its material made and its first card reviewed."""
    document = make_document(user, ML)
    row, cached = material.request(Tenant(user.id), "document", document.id)
    if not cached:  # a second document of the same pages is answered from the first one's material
        run_job(row.job_id)
    db.session.expire_all()
    row = db.session.get(StudyMaterial, row.id)
    reviews.record(Tenant(user.id), row, reviews.card_key(row.data["flashcards"][0]), knew=True)
    return document, row


def _lines(archive: zipfile.ZipFile, table: str) -> list[dict]:
    return [json.loads(line) for line in archive.read(f"tables/{table}.jsonl").decode().splitlines()]


def test_the_account_export_holds_own_material_and_reviews_only(client):
    alice, bob = make_user(), make_user()
    _doc, mine = _studied(alice)
    _other, theirs = _studied(bob)
    response = client.get("/api/v1/me/export", headers=auth_headers(client, alice))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    materials = _lines(archive, "study_materials")
    assert [m["id"] for m in materials] == [mine.id]
    assert materials[0]["data"]["key_terms"] == mine.data["key_terms"]
    assert [r["material_id"] for r in _lines(archive, "flashcard_reviews")] == [mine.id]
    assert theirs.id not in b"".join(archive.read(n) for n in archive.namelist()).decode()


def test_erasure_and_deletion_of_session_or_document_take_the_material(client):
    alice, bob = make_user(), make_user()
    alice_id = alice.id
    document, _row = _studied(alice)
    _studied(bob)
    headers = auth_headers(client, alice)
    assert client.delete(f"/api/v1/sessions/{document.session_id}", headers=headers).status_code in (200, 204)
    assert StudyMaterial.query.filter_by(user_id=alice_id).count() == 0
    assert FlashcardReview.query.filter_by(user_id=alice_id).count() == 0
    second, _row = _studied(alice)
    db.session.delete(db.session.get(Document, second.id))  # the documents feature's delete: the cascade
    db.session.commit()
    assert StudyMaterial.query.filter_by(user_id=alice_id).count() == 0
    _studied(alice)
    response = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert StudyMaterial.query.filter_by(user_id=alice_id).count() == 0
    assert FlashcardReview.query.filter_by(user_id=alice_id).count() == 0
    assert StudyMaterial.query.filter_by(user_id=bob.id).count() == 1  # nobody else's
    assert FlashcardReview.query.filter_by(user_id=bob.id).count() == 1


def test_the_retention_purge_removes_old_material_with_its_reviews(app):
    user = make_user()
    _old_doc, old = _studied(user)
    _new_doc, new = _studied(user)
    old_id, new_id = old.id, new.id
    hours = app.config["SETTINGS"].purge_retention_h
    old.created_at = utcnow() - timedelta(hours=hours + 1)
    db.session.commit()
    planned = retention.purge(dry_run=True)
    assert planned["study_materials"] == 1 and planned["flashcard_reviews"] == 1
    assert db.session.get(StudyMaterial, old_id) is not None
    done = retention.purge()
    assert done["study_materials"] == 1 and done["flashcard_reviews"] == 1
    db.session.expire_all()
    assert db.session.get(StudyMaterial, old_id) is None
    assert FlashcardReview.query.filter_by(material_id=old_id).count() == 0
    assert db.session.get(StudyMaterial, new_id) is not None
    assert FlashcardReview.query.filter_by(material_id=new_id).count() == 1
