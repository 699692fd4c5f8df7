"""Impact figures per school or region and week, computed from the activity tables.

Definitions (each a week, Monday 00:00 to Monday 00:00 UTC):

* children enrolled: enrolled before the week ended and not left before it began;
* children reached: heard a family message (or sent one), or heard a story;
* family contact share: enrolled children who heard or sent a family message
  in that week, over children enrolled;
* family voice minutes: what children heard of their guardians' messages,
  counted in the week the child last listened to each message;
* story minutes: what children heard of story chapters, counted in the week of
  the child's last progress on each chapter;
* help requests answered within target: a first response before the request's
  supervisor escalation time (``help.t1_seconds`` for its urgency; a day for
  urgencies with none).

No figure may identify a child: a count under ``MIN_CELL`` (zero excepted: it
points at nobody) and any figure resting on fewer than ``MIN_CELL`` children
is withheld. A group with fewer than ``MIN_CELL`` children shows nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.help.config import HelpSettings
from voicebridge.help.models import HelpRequest
from voicebridge.impact.schemas import GroupBy, ImpactReport, ImpactRow
from voicebridge.messages.models import Listen, Message, Thread, ThreadKind
from voicebridge.schools.models import Child, School
from voicebridge.stories.models import ChapterProgress

MIN_CELL = 5
DEFAULT_TARGET_SECONDS = 24 * 3600


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_of(at: datetime) -> date:
    return monday(at.astimezone(UTC).date())


@dataclass
class _Cell:
    enrolled: int = 0
    reached: set[uuid.UUID] = field(default_factory=set)
    contact: set[uuid.UUID] = field(default_factory=set)
    family_ms: int = 0
    family_listeners: set[uuid.UUID] = field(default_factory=set)
    story_ms: int = 0
    story_listeners: set[uuid.UUID] = field(default_factory=set)
    help_children: set[uuid.UUID] = field(default_factory=set)
    help_requests: int = 0
    help_in_target: int = 0


def _heard_ms(intervals: Sequence[Sequence[int]]) -> int:
    return sum(max(0, int(end) - int(start)) for start, end in intervals)


def report(
    session: Session, help_settings: HelpSettings, group_by: GroupBy, weeks: int
) -> ImpactReport:
    this_week = monday(clock.now().date())
    first = this_week - timedelta(weeks=weeks - 1)
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(this_week + timedelta(weeks=1), datetime.min.time(), UTC)
    week_list = [first + timedelta(weeks=i) for i in range(weeks)]

    schools = {s.id: s for s in session.exec(select(School))}

    def group_of(school_id: uuid.UUID) -> tuple[str, str]:
        school = schools[school_id]
        if group_by is GroupBy.region:
            return school.region, school.region
        return str(school.id), school.name

    children = {c.id: c for c in session.exec(select(Child))}
    cells: dict[tuple[date, str], _Cell] = defaultdict(_Cell)
    labels: dict[str, str] = {}
    for child in children.values():
        key, label = group_of(child.school_id)
        labels[key] = label
        for week in week_list:
            week_start = datetime.combine(week, datetime.min.time(), UTC)
            week_end = week_start + timedelta(weeks=1)
            if child.enrolled_at < week_end and (
                child.left_at is None or child.left_at >= week_start
            ):
                cells[(week, key)].enrolled += 1

    def cell(child_id: uuid.UUID, at: datetime) -> _Cell | None:
        child = children.get(child_id)
        if child is None or not (start <= at < end):
            return None
        return cells[(_week_of(at), group_of(child.school_id)[0])]

    # Family voice the children heard (guardians' messages in family threads).
    heard = session.exec(
        select(Listen.listener_id, Listen.heard_ms, Listen.last_heard_at)
        .join(Message, col(Message.id) == col(Listen.message_id))
        .join(Thread, col(Thread.id) == col(Message.thread_id))
        .where(
            Thread.kind == ThreadKind.family,
            col(Listen.listener_id) == col(Thread.child_id),
            col(Message.sender_id) == col(Thread.guardian_id),
            col(Listen.last_heard_at) >= start,
        )
    )
    for child_id, heard_ms, at in heard:
        target = cell(child_id, at) if at is not None else None
        if target is not None:
            target.reached.add(child_id)
            target.contact.add(child_id)
            target.family_ms += int(heard_ms)
            target.family_listeners.add(child_id)
    # Family voice the children sent.
    sent = session.exec(
        select(Thread.child_id, Message.ready_at)
        .join(Thread, col(Thread.id) == col(Message.thread_id))
        .where(
            Thread.kind == ThreadKind.family,
            col(Message.sender_id) == col(Thread.child_id),
            col(Message.ready_at) >= start,
        )
    )
    for child_id, at in sent:
        target = cell(child_id, at) if at is not None else None
        if target is not None:
            target.reached.add(child_id)
            target.contact.add(child_id)
    # Stories heard.
    stories = session.exec(
        select(ChapterProgress.child_id, ChapterProgress.heard, ChapterProgress.updated_at).where(
            col(ChapterProgress.updated_at) >= start
        )
    )
    for child_id, intervals, at in stories:
        target = cell(child_id, at)
        ms = _heard_ms(intervals or [])
        if target is not None and ms > 0:
            target.reached.add(child_id)
            target.story_ms += ms
            target.story_listeners.add(child_id)
    # Help requests and whether someone answered in time.
    requests = session.exec(select(HelpRequest).where(col(HelpRequest.created_at) >= start))
    for request in requests:
        target = cell(request.child_id, request.created_at)
        if target is None:
            continue
        target.help_requests += 1
        target.help_children.add(request.child_id)
        seconds = help_settings.t1_seconds.get(request.urgency.value, DEFAULT_TARGET_SECONDS)
        if request.first_response_at is not None and (
            request.first_response_at - request.created_at
        ) <= timedelta(seconds=seconds):
            target.help_in_target += 1

    rows = [
        _row(week, key, labels.get(key, key), cells[(week, key)])
        for week in week_list
        for key in sorted(labels, key=lambda k: labels[k])
        if (week, key) in cells
    ]
    return ImpactReport(group_by=group_by, weeks=weeks, min_cell=MIN_CELL, rows=rows)


def _row(week: date, key: str, label: str, c: _Cell) -> ImpactRow:
    suppressed: list[str] = []

    def count(name: str, value: int, children: int | None = None) -> int | None:
        basis = value if children is None else children
        if 0 < basis < MIN_CELL:
            suppressed.append(name)
            return None
        return value

    def minutes(name: str, ms: int, listeners: set[uuid.UUID]) -> float | None:
        if 0 < len(listeners) < MIN_CELL:
            suppressed.append(name)
            return None
        return round(ms / 60000, 1)

    if c.enrolled < MIN_CELL:
        names = [
            "children_enrolled",
            "children_reached",
            "family_contact_share",
            "family_voice_minutes",
            "story_minutes",
            "help_requests",
            "help_answered_within_target",
        ]
        return ImpactRow(
            week=week,
            group=key,
            label=label,
            children_enrolled=None,
            children_reached=None,
            family_contact_share=None,
            family_voice_minutes=None,
            story_minutes=None,
            help_requests=None,
            help_answered_within_target=None,
            suppressed=names,
        )
    contact = count("family_contact_share", len(c.contact))
    # The share's complement names children too: withheld when few lack contact.
    if contact is not None and 0 < c.enrolled - contact < MIN_CELL:
        suppressed.append("family_contact_share")
        contact = None
    help_children = len(c.help_children)
    few_asked = 0 < help_children < MIN_CELL
    if few_asked:
        suppressed.append("help_answered_within_target")
    return ImpactRow(
        week=week,
        group=key,
        label=label,
        children_enrolled=c.enrolled,
        children_reached=count("children_reached", len(c.reached)),
        family_contact_share=None if contact is None else round(contact / c.enrolled, 3),
        family_voice_minutes=minutes("family_voice_minutes", c.family_ms, c.family_listeners),
        story_minutes=minutes("story_minutes", c.story_ms, c.story_listeners),
        help_requests=count("help_requests", c.help_requests, help_children),
        help_answered_within_target=(
            None if few_asked else count("help_answered_within_target", c.help_in_target)
        ),
        suppressed=sorted(set(suppressed)),
    )


CSV_COLUMNS = (
    "week",
    "group",
    "label",
    "children_enrolled",
    "children_reached",
    "family_contact_share",
    "family_voice_minutes",
    "story_minutes",
    "help_requests",
    "help_answered_within_target",
)


def _cell_text(value: object) -> str:
    text = "" if value is None else str(value)
    # A school name starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv_rows(rep: ImpactReport) -> list[list[str]]:
    """Withheld cells are written as "<5", so a spreadsheet never shows them as zero."""
    out = [list(CSV_COLUMNS)]
    for row in rep.rows:
        values = row.model_dump()
        out.append(
            [
                f"<{rep.min_cell}" if name in row.suppressed else _cell_text(values[name])
                for name in CSV_COLUMNS
            ]
        )
    return out
