"""The FastAPI application: routers, middleware, error handlers and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from voicebridge.accounts.router import router as accounts_router
from voicebridge.auth.keys import load as load_keys
from voicebridge.auth.passwords import Passwords
from voicebridge.auth.router import router as auth_router
from voicebridge.config import Environment, Settings, get_settings
from voicebridge.db import engine_for
from voicebridge.docs import install as install_docs
from voicebridge.errors import install_error_handlers
from voicebridge.families.router import router as families_router
from voicebridge.help.router import router as help_router
from voicebridge.idempotency.middleware import install as install_idempotency
from voicebridge.impact.router import router as impact_router
from voicebridge.inputs import TextGuard
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.router import router as jobs_router
from voicebridge.jobs.worker import Worker, load_handlers, new_worker_id, request_kinds
from voicebridge.live import shutdown as live_shutdown
from voicebridge.live.listener import listen
from voicebridge.live.router import router as live_router
from voicebridge.messages.router import router as messages_router
from voicebridge.metrics import StateCollector
from voicebridge.notifications.metrics import NotificationCollector
from voicebridge.notifications.router import admin as notifications_admin_router
from voicebridge.notifications.router import router as notifications_router
from voicebridge.openapi import install as install_openapi
from voicebridge.ops import install_middleware
from voicebridge.ops import router as ops_router
from voicebridge.overload import install as install_overload
from voicebridge.privacy.router import router as privacy_router
from voicebridge.schools.roster_router import router as roster_router
from voicebridge.schools.router import router as schools_router
from voicebridge.storage.base import ObjectStore
from voicebridge.storage.factory import make_store
from voicebridge.stories.box_router import router as storyboxes_router
from voicebridge.stories.router import moderation as moderation_router
from voicebridge.stories.router import router as stories_router
from voicebridge.transcripts.engine import log_availability
from voicebridge.uploads.router import router as uploads_router
from voicebridge.webapp import install as install_webapp

API_PREFIX = "/api/v1"


ROUTERS = (
    auth_router,
    accounts_router,
    schools_router,
    families_router,
    help_router,
    stories_router,
    storyboxes_router,
    moderation_router,
    uploads_router,
    jobs_router,
    messages_router,
    notifications_router,
    notifications_admin_router,
    privacy_router,
    live_router,
    impact_router,
    roster_router,
)


def api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    for router in ROUTERS:
        api.include_router(router)
    return api


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    store: ObjectStore | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.storage.create_bucket:
            await asyncio.to_thread(app.state.store.ensure_ready)
        # Says once, in the log, whether spoken words will reach triage.
        await asyncio.to_thread(log_availability, settings)
        stop = threading.Event()
        thread: threading.Thread | None = None
        if settings.jobs.in_process_worker:
            # The embedded default runs its jobs in-process; production runs
            # `voicebridge worker` processes instead and turns this off.
            load_handlers()
            worker = Worker(
                JobContext(app.state.engine, settings, app.state.store, new_worker_id()),
                lease=timedelta(seconds=settings.jobs.lease_seconds),
                kinds=request_kinds() if settings.environment is Environment.production else None,
                parallel=settings.jobs.transcode_slots,
            )
            thread = threading.Thread(
                target=worker.run_forever,
                args=(stop, settings.jobs.poll_seconds),
                name="voicebridge-jobs",
                daemon=True,
            )
            thread.start()
        restore_signals = live_shutdown.relay_exit_signals()
        listener: asyncio.Task[None] | None = None
        if app.state.engine.dialect.name == "postgresql":
            # Events raised by any process reach this one's streams (live/).
            listener = asyncio.create_task(listen(app.state.engine), name="voicebridge-live")
        yield
        restore_signals()
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        stop.set()
        if thread is not None:
            await asyncio.to_thread(thread.join, 30)
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(
        title="VoiceBridge",
        version="0.1.0",
        summary="Voices between left-behind children and their families",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    load_keys(settings)
    app.state.engine = engine or engine_for(settings.db, settings.database_url)
    app.state.store = store or make_store(settings.storage)
    app.state.passwords = Passwords(settings.auth)
    app.state.state_metrics = [
        StateCollector(app.state.engine, app.state.store),
        NotificationCollector(app.state.engine),
    ]
    install_error_handlers(app)
    install_overload(app, settings.server)
    install_idempotency(app, API_PREFIX, ROUTERS)
    app.add_middleware(TextGuard)
    install_middleware(app)
    install_docs(app)
    install_openapi(app)
    app.include_router(ops_router)
    app.include_router(api_router())
    install_webapp(app, store=app.state.store)
    return app
