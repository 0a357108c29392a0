"""`flask jobs …` and `flask data purge`: the original debug scripts, on the real services.

Attached to the groups declared in cli.py when the CLI is registered.
"""

from __future__ import annotations

import json
from typing import Any

import click

from backend_app.cli import data_cli, jobs_cli


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _job_line(job: dict[str, Any]) -> str:
    extra = job.get("error_code") or job.get("enqueue_last_error") or job.get("error") or job.get("rq_status") or ""
    return (
        f"  {job['id']}  {job['kind']:<20} {job['status']:<9} attempts={job.get('attempts')} "
        f"user={job.get('user_id') or '-'}  {extra}"
    ).rstrip()


@jobs_cli.command("diagnose")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def diagnose(as_json: bool) -> None:
    """Workers, queue depths, stuck jobs, enqueue errors, failures, and a verdict."""
    from backend_app.services.job_diagnostics import diagnose as run

    report = run()
    if as_json:
        _echo_json(report)
    else:
        workers = report.get("workers")
        click.echo(f"workers alive: {len(workers) if workers is not None else 'unknown (Redis down)'}")
        for worker in workers or []:
            click.echo(f"  {worker['name']} {worker['host']}:{worker['pid']} {worker['state']} {worker['queues']}")
        click.echo(f"queue depths: {report.get('queues', 'unknown (Redis down)')}")
        click.echo(f"queued jobs in the database: {report['queued_total']}")
        sections = (
            ("queued jobs with no RQ job", "queued_without_rq_job"),
            ("running jobs without heartbeat", "running_without_heartbeat"),
            ("recent enqueue errors", "recent_enqueue_errors"),
        )
        for title, key in sections:
            click.echo(f"{title}: {len(report[key])}")
            for job in report[key]:
                click.echo(_job_line(job))
        click.echo(f"jobs enqueued only after retries (24 h): {report['enqueued_after_retries_24h']}")
        click.echo(f"failed by code: {report['failed_by_code'] or 'none'}")
        click.echo(f"periodic tasks: {report.get('periodic', 'unknown')}")
        click.echo("problems:" if report["problems"] else "problems: none")
        for problem in report["problems"]:
            click.echo(f"  - {problem}")
        click.echo(f"verdict: {report['verdict']}")
    raise SystemExit(1 if report["problems"] and report["verdict"].startswith("DOWN") else 0)


@jobs_cli.command("requeue-stale")
@click.option("--max-age-minutes", type=float, required=True, help="Only queued jobs waiting longer than this.")
@click.option("--dry-run", is_flag=True, help="Only list what would be re-enqueued.")
def requeue_stale(max_age_minutes: float, dry_run: bool) -> None:
    """Re-enqueue queued jobs that no live RQ job will run."""
    from redis.exceptions import RedisError

    from backend_app.errors import AppError
    from backend_app.services import jobs

    try:
        found = jobs.requeue_stale(max_age_minutes, dry_run=dry_run)
    except AppError as refusal:
        raise click.BadParameter(refusal.message, param_hint="--max-age-minutes") from None
    except RedisError as exc:
        raise click.ClickException(
            f"redis unreachable ({type(exc).__name__}): nothing can be re-enqueued now; "
            "the reconciler does it once Redis is back"
        ) from None
    verb = "would re-enqueue" if dry_run else "re-enqueued"
    click.echo(f"{verb} {len(found)} job(s) queued for over {max_age_minutes:g} min with no live RQ job")
    for job in found:
        click.echo(_job_line(job) + ("" if dry_run or job.get("enqueued") else "  (enqueue failed: Redis?)"))


@jobs_cli.command("debug-session")
@click.option("--user-id", default=None)
@click.option("--session-id", default=None)
def debug_session(user_id: str | None, session_id: str | None) -> None:
    """Jobs of a user and/or session, and jobs that belong to no user."""
    from backend_app.services import jobs

    found = jobs.debug_session(user_id, session_id)
    if user_id or session_id:
        click.echo(f"jobs for user={user_id or '*'} session={session_id or '*'}: {len(found['jobs'])}")
        for job in found["jobs"]:
            click.echo(_job_line(job.to_dict()) + f"  session={job.session_id or '-'}")
    click.echo(f"jobs without a user: {len(found['jobs_without_user'])}")
    for job in found["jobs_without_user"]:
        click.echo(_job_line(job.to_dict()))


@jobs_cli.command("retry-failed")
@click.option(
    "--force",
    is_flag=True,
    help="Also retry failures a retry cannot change (e.g. over the limits, after raising them).",
)
def retry_failed(force: bool) -> None:
    """Retry every failed job a retry can help (the dead-letter list); say which were skipped."""
    from backend_app.services import jobs

    outcome = jobs.retry_failed(force=force)
    click.echo(f"retried {len(outcome.retried)} failed job(s)")
    for job in outcome.retried:
        click.echo(_job_line(job.to_dict()))
    if outcome.skipped:
        hint = "" if force else "; --force retries them too (uploads refused on arrival excepted)"
        click.echo(outcome.skipped_text() + hint)


@jobs_cli.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
def reconcile(dry_run: bool) -> None:
    """One reconciler pass now: stale queued, lost running and overdue jobs."""
    from backend_app.services import jobs

    report = jobs.reconcile_now(dry_run=dry_run)
    titles = (
        (
            ("requeued", "would re-enqueue stale queued"),
            ("recovered", "would recover lost running"),
            ("timed_out", "would fail past their time limit"),
        )
        if dry_run
        else (
            ("requeued", "re-enqueued stale queued"),
            ("recovered", "recovered lost running"),
            ("timed_out", "failed past their time limit"),
        )
    )
    for key, title in titles:
        click.echo(f"{title}: {len(report[key])}")
        for job in report[key]:
            click.echo(_job_line(job) + f"  -> {job['action']}")
    released = report.get("released", [])
    click.echo(f"{'would release' if dry_run else 'released'} held jobs (users with free slots): {len(released)}")
    for entry in released:
        click.echo(
            f"  user {entry['user_id']} queue {entry['queue']}" + (f" job {entry['id']}" if "id" in entry else "")
        )
    for error in report["errors"]:
        click.echo(f"error: {error}")
    raise SystemExit(1 if report["errors"] else 0)


@data_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge(dry_run: bool) -> None:
    """Delete data older than PURGE_RETENTION_H, and orphaned temp files."""
    from backend_app.services import retention

    counts = retention.purge(dry_run=dry_run)
    click.echo(("would delete" if dry_run else "deleted") + f" (older than {counts.pop('cutoff')}):")
    for name, count in counts.items():
        click.echo(f"  {name}: {count}")
