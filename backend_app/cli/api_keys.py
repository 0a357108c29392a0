"""``flask users api-key-create|api-keys|api-key-revoke``: a user's API keys from the command line
(the same service as POST/GET/DELETE /api/v1/me/api-keys and the account page)."""

from __future__ import annotations

import click

from backend_app.cli import users_cli
from backend_app.errors import AppError


def _user(email: str):
    from backend_app.services import quotas

    return quotas.user_by_email(email)


@users_cli.command("api-key-create")
@click.option("--email", required=True)
@click.option("--name", required=True, help="What the key is for, e.g. 'nightly upload script'.")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="write", show_default=True)
@click.option("--expires-in-days", type=int, default=None, help="Omit for a key that does not expire.")
def create_key(email: str, name: str, scope: str, expires_in_days: int | None) -> None:
    """Make an API key for a user and print it (shown this once; only its hash is stored)."""
    from backend_app.services import api_keys

    try:
        key, raw = api_keys.create(_user(email), name=name, scope=scope, expires_in_days=expires_in_days)
    except AppError as exc:
        raise click.ClickException(exc.explained({"expires_in_days": "--expires-in-days"})) from None
    click.echo(f"id: {key.id}")
    click.echo(f"key: {raw}")


@users_cli.command("api-keys")
@click.option("--email", required=True)
def list_keys(email: str) -> None:
    """A user's API keys (never the keys): id, scope, name, last use, expiry."""
    from backend_app.services import api_keys

    try:
        keys = api_keys.list_for(_user(email).id)
    except AppError as exc:
        raise click.ClickException(exc.explained()) from None
    for key in keys:
        row = key.to_dict()
        click.echo(
            f"{row['id']}  {row['scope']:<5}  {row['prefix']}…  {row['name']}  "
            f"last used {row['last_used_at'] or 'never'}  expires {row['expires_at'] or 'never'}"
        )
    if not keys:
        click.echo("no API keys")


@users_cli.command("api-key-revoke")
@click.option("--email", required=True)
@click.option("--id", "key_id", required=True)
def revoke_key(email: str, key_id: str) -> None:
    """Revoke one of a user's API keys."""
    from backend_app.services import api_keys

    try:
        api_keys.revoke(_user(email).id, key_id)
    except AppError as exc:
        raise click.ClickException(exc.explained()) from None
    click.echo(f"revoked {key_id}")
