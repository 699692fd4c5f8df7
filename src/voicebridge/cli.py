"""The ``voicebridge`` command."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session
from typer._click import exceptions as click_errors

from voicebridge.config import DATA_DIR_NAME, Settings, get_settings

app = typer.Typer(
    help="VoiceBridge: voices between left-behind children and their families.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
admin_app = typer.Typer(help="Administration.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")

DATA_DIR_ENV = "VOICEBRIDGE_DATA_DIR"


class UserMistake(Exception):
    """Something the person at the keyboard can put right: one line, exit code 2."""


def find_data_dir(explicit: Path | None, start: Path | None = None) -> Path:
    """``--data-dir``/``VOICEBRIDGE_DATA_DIR``, else the nearest ``voicebridge-data``
    in this folder or a parent (as git finds ``.git``), else one here."""
    if explicit is not None:
        return explicit.expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DATA_DIR_NAME).is_dir():
            return folder / DATA_DIR_NAME
    return here / DATA_DIR_NAME


@app.callback()
def _options(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar=DATA_DIR_ENV,
            help="Folder of the embedded database and objects "
            f"(default: the nearest ./{DATA_DIR_NAME} here or above)",
            file_okay=False,
        ),
    ] = None,
) -> None:
    # Exported, so that uvicorn's worker processes and `get_settings()` agree.
    os.environ[DATA_DIR_ENV] = str(find_data_dir(data_dir))
    get_settings.cache_clear()


def _settings(*, create: bool = True) -> Settings:
    """Settings for a command; ``create=False`` commands need existing data."""
    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError: a bad VOICEBRIDGE_* value
        first = str(exc).splitlines()
        raise UserMistake(f"configuration: {' '.join(first[1:3]).strip()}") from exc
    if create:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    elif (
        settings.database_url.startswith("sqlite:///")
        and not Path(settings.database_url.removeprefix("sqlite:///")).is_file()
    ):
        raise UserMistake(
            f"no VoiceBridge data in {settings.data_dir}: run `voicebridge serve` or "
            "`voicebridge demo` first, or point --data-dir (VOICEBRIDGE_DATA_DIR) at it"
        )
    return settings


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply database migrations."""
    from voicebridge.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


def _print_demo(settings: Settings, base: str | None = None) -> None:
    from voicebridge.db import make_engine
    from voicebridge.demo import render, seed
    from voicebridge.storage.factory import make_store

    engine = make_engine(settings.database_url)
    store = make_store(settings.storage)
    try:
        world = seed(engine, store, settings)
    finally:
        engine.dispose()
    typer.echo(render(world, base or settings.public_base_url))


@app.command()
def demo() -> None:
    """Seed a demo school (idempotent) and print how to sign in."""
    from voicebridge.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    _print_demo(settings)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    demo_data: Annotated[bool, typer.Option("--demo", help="Seed a demo school first")] = False,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations on start")
    ] = True,
) -> None:
    """Run the API (the embedded default: SQLite and a local object directory)."""
    import uvicorn

    from voicebridge.logs import configure_logging
    from voicebridge.migrate import upgrade

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    if migrate_first:
        upgrade(settings.database_url)
    if demo_data:
        _print_demo(settings, f"http://{host}:{port}")
    uvicorn.run(
        "voicebridge.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
        access_log=False,
    )


@app.command()
def worker(
    kinds: Annotated[
        str | None, typer.Option(help="Comma-separated job kinds (default all)")
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT; the job in hand is finished first."""
    import signal
    import threading
    from datetime import timedelta

    from voicebridge.db import make_engine
    from voicebridge.jobs.registry import JobContext
    from voicebridge.jobs.worker import Worker, load_handlers, new_worker_id
    from voicebridge.logs import configure_logging
    from voicebridge.storage.factory import make_store

    settings = _settings(create=False)
    configure_logging(settings.log_level, settings.log_json)
    load_handlers()
    engine = make_engine(settings.database_url)
    store = make_store(settings.storage)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ctx = JobContext(engine, settings, store, new_worker_id())
    runner = Worker(
        ctx,
        lease=timedelta(seconds=settings.jobs.lease_seconds),
        kinds=kinds.split(",") if kinds else None,
    )
    typer.echo(f"worker {ctx.worker_id} started", err=True)
    runner.run_forever(stop, settings.jobs.poll_seconds)
    engine.dispose()


@admin_app.command("create-user")
def create_user(
    login: Annotated[str, typer.Option(help="Phone or e-mail")],
    role: Annotated[
        str, typer.Option(help="admin, moderator, psychologist, staff or guardian")
    ] = "admin",
    name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
    password: Annotated[str | None, typer.Option(help="Password (asked when omitted)")] = None,
) -> None:
    """Create an account (the first admin, typically)."""
    from pydantic import ValidationError

    from voicebridge.accounts import service as accounts
    from voicebridge.accounts.schemas import UserCreate
    from voicebridge.auth.passwords import Passwords
    from voicebridge.db import make_engine
    from voicebridge.errors import DomainError
    from voicebridge.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    secret = password or getpass.getpass("Password: ")
    try:
        body = UserCreate.model_validate(
            {"role": role, "login": login, "display_name": name, "password": secret}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UserMistake(f"{first['loc'][0]}: {message}") from exc
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            user = accounts.create_user(
                session,
                Passwords(settings.auth),
                role=body.role,
                login=body.login,
                display_name=body.display_name,
                password=body.password,
            )
            session.commit()
            typer.echo(f"created {user.role.value} {user.login} ({user.id})")
    except DomainError as exc:
        raise UserMistake(exc.detail) from exc
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Runs the command; a mistake is one line on stderr and exit code 2, not a traceback."""
    from voicebridge.errors import DomainError

    try:
        code = app(args=argv, prog_name="voicebridge", standalone_mode=False)
    except click_errors.NoArgsIsHelpError:
        code = 0  # the help was shown
    except click_errors.UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        typer.echo(f"error: {exc.format_message()}{where}", err=True)
        code = 2
    except (UserMistake, DomainError) as exc:
        typer.echo(f"error: {exc}", err=True)
        code = 2
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except click_errors.ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else 0)


from voicebridge.stories.cli import stories_app, storybox_app  # noqa: E402

app.add_typer(stories_app, name="stories")
app.add_typer(storybox_app, name="storybox")
