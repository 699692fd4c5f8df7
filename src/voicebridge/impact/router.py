"""GET /admin/impact and its CSV: aggregate figures only, for administrators and the NGO."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from voicebridge.auth.deps import AdminPrincipal, SettingsDep
from voicebridge.db import SessionDep
from voicebridge.impact import service
from voicebridge.impact.schemas import GroupBy, ImpactReport

router = APIRouter(prefix="/admin/impact", tags=["admin"])

GroupByQuery = Annotated[GroupBy, Query(description="One row per school or per region")]
WeeksQuery = Annotated[int, Query(ge=1, le=104, description="Weeks back, this one included")]


@router.get("")
def impact(
    session: SessionDep,
    settings: SettingsDep,
    _admin: AdminPrincipal,
    group_by: GroupByQuery = GroupBy.school,
    weeks: WeeksQuery = 12,
) -> ImpactReport:
    """Children reached, family contact, minutes of family voice and stories heard, help
    answered within target, by week; a figure resting on fewer than 5 children is withheld."""
    return service.report(session, settings.help, group_by, weeks)


@router.get(
    "/csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
    },
)
def impact_csv(
    session: SessionDep,
    settings: SettingsDep,
    _admin: AdminPrincipal,
    group_by: GroupByQuery = GroupBy.school,
    weeks: WeeksQuery = 12,
) -> Response:
    """The same figures as CSV (UTF-8 with BOM, so spreadsheets read Chinese names)."""
    rep = service.report(session, settings.help, group_by, weeks)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(service.to_csv_rows(rep))
    return Response(
        ("\ufeff" + buffer.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="impact-{group_by.value}.csv"'},
    )
