"""Every upload and dead-letter route, as every role.

An upload belongs to its uploader alone: everyone else gets 404 for it, so
nobody learns that it exists. Starting one is open to any signed-in user;
the purpose (here the tests' permissive ``test`` purpose) decides the rest.
"""

from __future__ import annotations

import tests.uploads.purpose  # noqa: F401  (registers the "test" purpose)
from tests.access.harness import ROLES, Case, Req, World, register
from tests.uploads.conftest import metadata_header
from voicebridge.jobs import service as jobs
from voicebridge.jobs.models import JobState
from voicebridge.uploads import service

TUS = {"Tus-Resumable": "1.0.0"}
SIGNED_IN = set(ROLES) - {"anonymous"}


def _own_upload(w: World) -> None:
    upload = service.create(w.session, w.store, w.settings, w.guardian_a, 1000, {"purpose": "test"})
    w.extras["upload"] = f"/api/v1/uploads/{upload.id}"


def _dead_job(w: World) -> None:
    job = jobs.enqueue(w.session, "audio.process", {"asset_id": "none"})
    job.state = JobState.dead
    w.session.add(job)
    w.session.flush()
    w.extras["job"] = str(job.id)


register(
    Case(
        method="OPTIONS",
        path="/api/v1/uploads",
        build=lambda w: Req(url="/api/v1/uploads"),
        allowed=set(ROLES),
    )
)
register(
    Case(
        method="OPTIONS",
        path="/api/v1/uploads/{upload_id}",
        setup=_own_upload,
        build=lambda w: Req(url=w.extras["upload"]),
        allowed=set(ROLES),
    )
)
register(
    Case(
        method="POST",
        path="/api/v1/uploads",
        build=lambda w: Req(
            url="/api/v1/uploads",
            headers={
                **TUS,
                "Upload-Length": "1000",
                "Upload-Metadata": metadata_header(purpose="test"),
            },
        ),
        allowed=SIGNED_IN,
    )
)
register(
    Case(
        method="POST",
        path="/api/v1/uploads/single",
        build=lambda w: Req(
            url="/api/v1/uploads/single",
            params={"purpose": "test"},
            headers={"content-type": "audio/wav"},
            content=b"not really audio, processed later",
        ),
        allowed=SIGNED_IN,
    )
)
register(
    Case(
        method="HEAD",
        path="/api/v1/uploads/{upload_id}",
        setup=_own_upload,
        build=lambda w: Req(url=w.extras["upload"], headers=TUS),
        allowed={"own_guardian"},
    )
)
register(
    Case(
        method="PATCH",
        path="/api/v1/uploads/{upload_id}",
        setup=_own_upload,
        build=lambda w: Req(
            url=w.extras["upload"],
            headers={
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
            content=b"x" * 100,
        ),
        allowed={"own_guardian"},
    )
)
register(
    Case(
        method="DELETE",
        path="/api/v1/uploads/{upload_id}",
        setup=_own_upload,
        build=lambda w: Req(url=w.extras["upload"], headers=TUS),
        allowed={"own_guardian"},
    )
)
register(
    Case(
        method="GET",
        path="/api/v1/admin/jobs/dead",
        build=lambda w: Req(url="/api/v1/admin/jobs/dead"),
        allowed={"admin"},
    )
)
register(
    Case(
        method="POST",
        path="/api/v1/admin/jobs/{job_id}/retry",
        setup=_dead_job,
        build=lambda w: Req(url=f"/api/v1/admin/jobs/{w.extras['job']}/retry"),
        allowed={"admin"},
    )
)
