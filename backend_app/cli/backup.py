"""`flask backup create|restore`: the database and the stored files in one archive (services/backup)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

backup_cli = AppGroup("backup", help="Back up and restore the database and the stored files.")


@backup_cli.command("create")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Archive to write (default: $DATA_DIR/backups/framewise-<time>.tar.gz).",
)
@click.option(
    "--database-only",
    is_flag=True,
    help="Leave the files out (required with S3 storage: back the bucket up with its own tools).",
)
def create(output: Path | None, database_only: bool) -> None:
    """Write the database and the local storage folder into one tar.gz with a manifest."""
    from backend_app.errors import AppError
    from backend_app.services import backup

    try:
        manifest = backup.create(output, database_only=database_only)
    except AppError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    storage = manifest["storage"]
    click.echo(f"backup: {manifest['path']}")
    click.echo(f"database: {manifest['database']['dialect']} at migration {manifest['migration_head']}")
    click.echo("rows: " + ", ".join(f"{table} {n}" for table, n in manifest["counts"].items() if n))
    if storage["included"]:
        click.echo(f"storage: {storage['files']} files, {storage['bytes']} bytes")
    else:
        click.echo(f"storage: not included ({storage['backend']})")


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database and storage folder that are not empty.")
def restore(archive: Path, force: bool) -> None:
    """Restore an archive into this app's (empty) database and storage folder."""
    from backend_app.errors import AppError
    from backend_app.services import backup

    try:
        result = backup.restore(archive, force=force)
    except AppError as exc:
        detail = f" {exc.details}" if exc.details else ""
        raise click.ClickException(f"{exc.code}: {exc.message}{detail}") from None
    manifest = result["manifest"]
    click.echo(f"restored: {archive} (made {manifest['created_at']}, migration {manifest['migration_head']})")
    click.echo("rows: " + ", ".join(f"{table} {n}" for table, n in result["restored_counts"].items() if n))
    for note in result["notes"]:
        click.echo(f"note: {note}")
