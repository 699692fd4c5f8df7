"""``voicebridge stories import`` and ``voicebridge storybox export|verify``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, select

stories_app = typer.Typer(help="Stories.", no_args_is_help=True)
storybox_app = typer.Typer(help="Story boxes and offline bundles.", no_args_is_help=True)


@stories_app.command("import")
def import_stories(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    narrator: Annotated[str, typer.Option(help="Login of the verified narrator")],
) -> None:
    """Import a folder of recordings with stories.csv or stories.yaml; safe to rerun."""
    from voicebridge.accounts.models import User
    from voicebridge.accounts.schemas import normalize_login
    from voicebridge.cli import UserMistake, _settings
    from voicebridge.db import make_engine
    from voicebridge.storage.factory import make_store
    from voicebridge.stories.importer import METADATA_NAMES, read_metadata, run_import
    from voicebridge.stories.service import is_verified_narrator

    settings = _settings(create=False)
    try:
        rows, _ = read_metadata(directory)
    except FileNotFoundError as exc:
        raise UserMistake(
            f"{directory} has no {' or '.join(METADATA_NAMES[:2])}: add one row per "
            "recording (columns file, story, chapter, ...; see the README)"
        ) from exc
    try:
        login = normalize_login(narrator)
    except ValueError as exc:
        raise UserMistake(f"--narrator {narrator!r}: {exc}") from exc
    engine = make_engine(settings.database_url)
    store = make_store(settings.storage)
    with Session(engine) as session:
        user = session.exec(select(User).where(User.login == login)).first()
        if user is None:
            raise UserMistake(f"no account signs in as {narrator!r}; give the narrator's login")
        if not is_verified_narrator(session, user):
            raise UserMistake(
                f"{narrator} is not a verified narrator yet: they apply with POST "
                "/api/v1/stories/narrators/me and a moderator verifies them"
            )
        with typer.progressbar(length=len(rows), label="importing") as bar:
            report = run_import(
                session,
                store,
                settings.audio,
                user,
                directory,
                checkpoint=session.commit,
                on_file=lambda _name: bar.update(1),
            )
        session.commit()
    typer.echo(f"imported {len(report.imported)}, already done {len(report.skipped)}")
    for name, why in report.problems.items():
        typer.echo(f"  not used: {name}: {why}", err=True)
    if report.problems:
        raise typer.Exit(code=1)


@storybox_app.command("export")
def export(
    box_id: Annotated[uuid.UUID, typer.Argument(metavar="BOX")],
    out: Annotated[Path, typer.Option("--out", help="Bundle file to write")],
    since: Annotated[int, typer.Option(help="Only what changed after this box version")] = 0,
) -> None:
    """Write an offline bundle (zip) of a story box."""
    from voicebridge.cli import UserMistake, _settings
    from voicebridge.db import make_engine
    from voicebridge.storage.factory import make_store
    from voicebridge.stories import bundles
    from voicebridge.stories.models import StoryBox

    settings = _settings(create=False)
    engine = make_engine(settings.database_url)
    store = make_store(settings.storage)
    with Session(engine) as session:
        box = session.get(StoryBox, box_id)
        if box is None:
            raise UserMistake(f"no story box {box_id}; `GET /api/v1/storyboxes` lists them")
        size = bundles.total_bytes(bundles.build_manifest(session, box, since))
        with typer.progressbar(length=size, label="exporting") as bar:
            manifest = bundles.export_bundle(session, store, box, out, since, on_bytes=bar.update)
    typer.echo(f"{out}: version {manifest['version']}, {len(manifest['files'])} files")


@storybox_app.command("verify")
def verify(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Check every file of a bundle against its manifest."""
    from voicebridge.stories.bundles import verify_bundle

    problems = verify_bundle(path)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(code=1)
    typer.echo("bundle is whole")
