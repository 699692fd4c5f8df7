"""The impact dashboard's rows: aggregates only, with small cells suppressed."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class GroupBy(StrEnum):
    school = "school"
    region = "region"


class ImpactRow(BaseModel):
    """One group (a school or a region) in one week (Monday to Sunday, UTC).

    A figure that would rest on fewer than ``min_cell`` children is ``null``
    and named in ``suppressed``: no cell on the dashboard can point at a child.
    """

    week: date = Field(description="The week's Monday")
    group: str = Field(description="School id, or region name")
    label: str = Field(description="School name, or region name")
    children_enrolled: int | None
    children_reached: int | None = Field(
        description="Children who heard or sent family voice or heard a story that week"
    )
    family_contact_share: float | None = Field(
        description="Share of enrolled children with a family message heard or sent in the 7 days"
    )
    family_voice_minutes: float | None
    story_minutes: float | None
    help_requests: int | None
    help_answered_within_target: int | None
    suppressed: list[str] = Field(default_factory=list)


class ImpactReport(BaseModel):
    group_by: GroupBy
    weeks: int
    min_cell: int
    rows: list[ImpactRow]
