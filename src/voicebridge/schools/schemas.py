from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicebridge.accounts.schemas import Login
from voicebridge.schools.models import StaffRole

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ListeningWindow(BaseModel):
    weekday: int = Field(ge=0, le=6, description="Monday is 0")
    start: str = Field(examples=["18:30"])
    end: str = Field(examples=["19:30"])

    @model_validator(mode="after")
    def _times(self) -> ListeningWindow:
        if not _HHMM.fullmatch(self.start) or not _HHMM.fullmatch(self.end):
            raise ValueError("times are HH:MM, 24-hour")
        if self.end <= self.start:
            raise ValueError("a listening window ends after it starts")
        return self


def _check_timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone; use an IANA name such as Asia/Shanghai") from exc
    return v


class SchoolCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    listening_hours: list[ListeningWindow] = Field(default_factory=list, max_length=50)

    _tz = field_validator("timezone")(_check_timezone)


class SchoolUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    region: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    listening_hours: list[ListeningWindow] | None = Field(default=None, max_length=50)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _check_timezone(v)


class SchoolPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    region: str
    timezone: str
    listening_hours: list[ListeningWindow]
    created_at: datetime


class ClassCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class ClassPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    school_id: uuid.UUID
    name: str


class StaffCreate(BaseModel):
    """Adds a staff member; a new account is made when the login is not known yet."""

    login: Login
    display_name: str = Field(min_length=1, max_length=120)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    role: StaffRole
    is_safeguarding_contact: bool = False


class StaffPublic(BaseModel):
    id: uuid.UUID = Field(description="The membership, or the invitation while `invited`")
    user_id: uuid.UUID
    school_id: uuid.UUID
    display_name: str
    login: str | None
    role: StaffRole
    is_safeguarding_contact: bool
    state: Literal["active", "invited"] = Field(
        default="active",
        description="`invited`: the login already had an account, whose owner must accept",
    )


class StaffInvitationPublic(BaseModel):
    id: uuid.UUID
    school_id: uuid.UUID
    school_name: str
    role: StaffRole
    is_safeguarding_contact: bool
    created_at: datetime
    expires_at: datetime


class ChildEnrol(BaseModel):
    given_name: str = Field(min_length=1, max_length=60)
    family_name: str = Field(min_length=1, max_length=60)
    class_id: uuid.UUID
    birth_year: int = Field(ge=2000, le=2030)
    pin: str = Field(pattern=r"^\d{4,8}$")


class ChildUpdate(BaseModel):
    given_name: str | None = Field(default=None, min_length=1, max_length=60)
    family_name: str | None = Field(default=None, min_length=1, max_length=60)
    class_id: uuid.UUID | None = None
    birth_year: int | None = Field(default=None, ge=2000, le=2030)


class PinReset(BaseModel):
    pin: str = Field(pattern=r"^\d{4,8}$")


class ChildPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    school_id: uuid.UUID
    class_id: uuid.UUID
    given_name: str
    family_name: str
    birth_year: int
    pin_locked: bool
    enrolled_at: datetime


class ChildPage(BaseModel):
    items: list[ChildPublic]
    next_cursor: str | None


class DeviceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["Library tablet 2"])


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    school_id: uuid.UUID
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None


class DeviceRegistered(DevicePublic):
    device_token: str = Field(description="Shown once; the device keeps it")


class RosterChild(BaseModel):
    id: uuid.UUID
    given_name: str
    family_initial: str


class RosterClass(BaseModel):
    id: uuid.UUID
    name: str
    children: list[RosterChild]


class Roster(BaseModel):
    school_id: uuid.UUID
    school_name: str
    classes: list[RosterClass]


class ListeningHoursStatus(BaseModel):
    """For the kiosk: "listening time until 19:30" or "next listening time: 18:30"."""

    open: bool
    timezone: str
    ends_at: datetime | None = Field(description="When the current window ends (UTC)")
    next_start: datetime | None = Field(
        description="When the next window starts (UTC); none when the school has no windows"
    )
    windows: list[ListeningWindow]
