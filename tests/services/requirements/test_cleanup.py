"""Batches are purged after PURGE_RETENTION_H, and go with their session or account, Redis keys included."""

from datetime import timedelta

from sqlalchemy import func, select, update

from backend_app.extensions import db, redis_store
from backend_app.models import Job, RequirementBatch, RequirementResult
from backend_app.models.base import utcnow
from backend_app.services import ownership, retention, sessions
from backend_app.services.requirements import batch as batches
from backend_app.tenancy import Tenant
from tests.factories import make_user

TABLE = "| id | requirementText |\n|---|---|\n| A | The pump shall stop within 2 s. |\n"


def _submit(tenant):
    batch = batches.submit(tenant, "rewrite", TABLE, source="body", criteria_keys=None, variant="v1")
    redis_store.conn.hset(f"framewise:reqbatch:{batch.id}:rewrites", "0", "rewritten")
    db.session.add(
        RequirementResult(
            batch_id=batch.id,
            user_id=tenant.user_id,
            session_id=tenant.session_id,
            row_index=0,
            row_key="A",
            line=3,
            text_sha256="0" * 64,
            status="ok",
        )
    )
    db.session.commit()
    return batch.id, batch.job_id


def _keys(batch_id):
    return redis_store.conn.exists(f"framewise:reqbatch:{batch_id}:input", f"framewise:reqbatch:{batch_id}:rewrites")


def test_purge_takes_finished_old_batches_and_their_keys(app):
    tenant = Tenant(make_user().id)
    (old, old_job), (running, _) = _submit(tenant), _submit(tenant)
    past = utcnow() - timedelta(hours=app.config["SETTINGS"].purge_retention_h + 1)
    db.session.execute(update(RequirementBatch).values(created_at=past))
    db.session.execute(update(Job).where(Job.id == old_job).values(status="completed"))
    db.session.commit()
    assert retention.purge(dry_run=True)["requirement_batches"] == 1
    counts = retention.purge()
    assert counts["requirement_batches"] == 1 and counts["requirement_results"] == 1
    assert db.session.get(RequirementBatch, old) is None and _keys(old) == 0
    assert db.session.get(RequirementBatch, running) is not None and _keys(running) == 2


def test_deleting_a_session_or_the_account_removes_batches_and_keys(app):
    user = make_user()
    session = sessions.create(Tenant(user.id), "project")
    (in_session, _), (loose, _) = _submit(Tenant(user.id, session.id)), _submit(Tenant(user.id))
    sessions.delete(Tenant(user.id), session.id)
    db.session.expire_all()
    assert _keys(in_session) == 0 and db.session.get(RequirementBatch, in_session) is None
    assert _keys(loose) == 2
    ownership.erase_user(user.id)
    assert _keys(loose) == 0
    assert db.session.execute(select(func.count()).select_from(RequirementResult)).scalar() == 0
