"""Flask command groups: users, jobs, data."""

from __future__ import annotations

import json
import time

import click
from flask import Flask
from flask.cli import AppGroup

from backend_app.extensions import db

users_cli = AppGroup("users", help="Manage accounts.")
jobs_cli = AppGroup("jobs", help="Inspect and repair background jobs.")
data_cli = AppGroup("data", help="Data retention.")


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", default=None, help="Omit to generate one (printed once).")
def create_admin(email: str, password: str | None) -> None:
    """Create an admin account, or promote an existing one (--password also sets its password)."""
    from backend_app.errors import AppError
    from backend_app.services import accounts

    try:
        user, generated = accounts.create_admin(email, password)
    except AppError as exc:
        raise click.ClickException(exc.explained({"email": "--email", "password": "--password"})) from None
    click.echo(f"admin: {user.email}")
    if generated:
        click.echo(f"password: {generated}")


def _limit(value: str) -> int | str | None:
    """A quota option's value: a number, or "default" (None: back to the setting's default)."""
    if value.strip().lower() == "default":
        return None
    try:
        return int(value)
    except ValueError:
        return value  # the service refuses it with the field's name


@users_cli.command("set-quota")
@click.option("--email", required=True)
@click.option("--storage-bytes", default=None, help='Bytes of uploaded video, or "default".')
@click.option("--uploads-per-hour", default=None, help='Uploads started per hour, or "default".')
@click.option("--concurrent-jobs", default=None, help='Jobs waiting or running at once, or "default".')
def set_quota(email: str, **values: str | None) -> None:
    """Raise or lower one user's quotas (an option left out keeps its value)."""
    from backend_app.errors import AppError
    from backend_app.services import quotas

    changes = {name: _limit(raw) for name, raw in values.items() if raw is not None}
    try:
        user = quotas.user_by_email(email)
        result = quotas.set_limits(user.id, changes)
    except AppError as exc:
        raise click.ClickException(exc.explained()) from None
    click.echo(f"quotas of {user.email}:")
    for name, own in result["overrides"].items():
        limit = result["quota"][name]
        note = " (default)" if own is None else ""
        click.echo(f"  {name}: {limit['limit']}{note}, used {limit['used']}, remaining {limit['remaining']}")


@users_cli.command("set-budget")
@click.option("--email", required=True)
@click.option("--usd", required=True, help='Monthly AI budget in US dollars, or "default" (MONTHLY_BUDGET_USD).')
def set_budget(email: str, usd: str) -> None:
    """Set one user's monthly AI budget."""
    from backend_app.errors import AppError
    from backend_app.services import quotas, usage

    try:
        value = None if usd.strip().lower() == "default" else float(usd)
    except ValueError:
        raise click.BadParameter(f'{usd!r} is not a number or "default"', param_hint="--usd") from None
    try:
        user = quotas.user_by_email(email)
        result = usage.set_budget(user.id, value)
    except AppError as exc:
        raise click.ClickException(exc.explained()) from None
    note = " (default)" if result["monthly_budget_usd"] is None else ""
    click.echo(
        f"budget of {user.email}: ${result['budget_usd']:.2f}/month{note}, spent ${result['spent_usd']:.4f}, "
        f"remaining ${result['remaining_usd']:.4f}"
    )


@jobs_cli.command("selftest")
@click.option("--wait", default=30.0, help="Seconds to wait for a worker to run it.")
def selftest(wait: float) -> None:
    """Send a self-test job through Redis to a worker and wait for the answer."""
    from backend_app.models import Job
    from backend_app.queue.enqueue import submit

    job = submit("selftest", user_id=None, payload={"echo": "cli"})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        db.session.expire_all()
        row = db.session.get(Job, job.id)
        if row.is_finished:
            click.echo(json.dumps(row.to_dict(), indent=2))
            raise SystemExit(0 if row.status == "completed" else 1)
        time.sleep(0.2)
    click.echo(f"job {job.id} not finished after {wait}s: is a worker running?", err=True)
    raise SystemExit(1)


def register_cli(app: Flask) -> None:
    from backend_app.cli import api_keys as _key_commands  # noqa: F401  (attaches the api-key commands to users)
    from backend_app.cli import jobs as _jobs_commands  # noqa: F401  (attaches jobs/data commands to the groups)

    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(data_cli)
    from backend_app.cli.flags import flags_cli

    app.cli.add_command(flags_cli)
    from backend_app.cli.demo import demo_cli

    app.cli.add_command(demo_cli)
    from backend_app.cli.backup import backup_cli

    app.cli.add_command(backup_cli)
