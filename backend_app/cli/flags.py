"""`flask flags list|set|rollback|audit`: the flags from a shell, audited as actor "cli"."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from backend_app.errors import AppError

flags_cli = AppGroup("flags", help="Feature flags and the canary.")


def _fail(error: AppError) -> None:
    click.echo(f"{error.code}: {error.message} {json.dumps(error.details) if error.details else ''}".rstrip(), err=True)
    raise SystemExit(1)


@flags_cli.command("list")
def list_cmd() -> None:
    """Every flag with its state and the guard's state."""
    from backend_app.services import flags
    from backend_app.services.flags import guard

    for flag in flags.list_flags():
        state = "on " if flag.enabled else "off"
        click.echo(
            f"{flag.key:24} {state} {flag.rollout_percent:3d}%  by {flag.updated_by or '-'} "
            f"at {flag.to_dict()['updated_at']}  {flag.description}"
        )
        pinned = flags.pins.describe(flags.pins.pins(current_app.config["SETTINGS"], flag.key))
        if pinned:
            click.echo(f"{'':24} {pinned}")
    tripped = guard.status()
    if tripped:
        click.echo(f"GUARD TRIPPED at {tripped['tripped_at']}: {tripped['reason']}")


@flags_cli.command("set")
@click.argument("key")
@click.option("--enabled/--disabled", required=True)
@click.option("--percent", "rollout_percent", type=click.IntRange(0, 100), required=True)
@click.option("--description", default=None)
@click.option("--reason", default="", help="Why (kept in the audit trail).")
@click.option("--actor", default="cli", help="Who (kept in the audit trail).")
def set_cmd(key: str, enabled: bool, rollout_percent: int, description: str | None, reason: str, actor: str) -> None:
    """Create or change a flag, e.g. `flask flags set use_v2 --enabled --percent 10`."""
    from backend_app.services import flags

    try:
        flag, changed = flags.set_flag(
            key, enabled=enabled, rollout_percent=rollout_percent, description=description, reason=reason, actor=actor
        )
    except AppError as exc:
        _fail(exc)
    click.echo(json.dumps({**flag.to_dict(), "changed": changed}))


@flags_cli.command("rollback")
@click.argument("key")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--actor", default="cli")
def rollback_cmd(key: str, reason: str, actor: str) -> None:
    """Turn a flag off now; every process follows within a second."""
    from backend_app.services import flags

    try:
        flag, changed = flags.rollback(key, actor=actor, reason=reason)
    except AppError as exc:
        _fail(exc)
    click.echo(json.dumps({**flag.to_dict(), "changed": changed}))


@flags_cli.command("audit")
@click.argument("key")
@click.option("--limit", default=20, type=click.IntRange(1, 1000))
def audit_cmd(key: str, limit: int) -> None:
    """The flag's audit trail, newest first (one JSON object a line)."""
    from backend_app.services import flags

    try:
        rows = flags.audit_log(key, limit=limit)
    except AppError as exc:
        _fail(exc)
    for row in rows:
        click.echo(json.dumps(row.to_dict()))
