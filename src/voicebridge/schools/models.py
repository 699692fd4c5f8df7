"""Schools, their classes, staff, and the children they enrol."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel, UniqueConstraint

from voicebridge.db import JSONType, UTCDateTime, enum_type, new_id, utcnow


class School(SQLModel, table=True):
    __tablename__ = "schools"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    region: str = Field(max_length=200)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    # [{"weekday": 0-6 (Monday=0), "start": "18:30", "end": "19:30"}, ...] in the school's zone.
    listening_hours: list[dict[str, object]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class SchoolClass(SQLModel, table=True):
    __tablename__ = "school_classes"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class StaffRole(StrEnum):
    admin = "admin"
    teacher = "teacher"
    counsellor = "counsellor"


class StaffMembership(SQLModel, table=True):
    __tablename__ = "staff_memberships"
    __table_args__ = (UniqueConstraint("school_id", "user_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    role: StaffRole = Field(sa_type=enum_type(StaffRole))
    is_safeguarding_contact: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class StaffInvitation(SQLModel, table=True):
    """A school asks an existing account to join its staff; the person accepts or declines.

    Only accepting creates the membership, so no school can attach someone on its own.
    """

    __tablename__ = "staff_invitations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    role: StaffRole = Field(sa_type=enum_type(StaffRole))
    is_safeguarding_contact: bool = False
    invited_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    accepted: bool | None = None


class Child(SQLModel, table=True):
    """A child's school record. Its id is the child's ``users.id``."""

    __tablename__ = "children"

    id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    school_id: uuid.UUID = Field(foreign_key="schools.id", index=True, ondelete="CASCADE")
    class_id: uuid.UUID = Field(foreign_key="school_classes.id", index=True)
    given_name: str = Field(max_length=60)
    family_name: str = Field(max_length=60)
    birth_year: int
    pin_hash: str = Field(max_length=255)
    pin_failures: int = 0
    pin_locked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Set when wrong PINs from one device alerted the child's teachers; from then on
    # further failures lock the PIN even from that one device.
    pin_alerted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    enrolled_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    left_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
