"""A demo world worth opening: one school, its families, helpers and stories.

``seed`` is idempotent: the first run creates everything (and processes the
demo recordings, so they are playable at once); every run, first or not,
returns every login and a working school-device credential. Device
credentials are stored only as hashes, so the demo keeps its own in the data
directory (mode 0600) and registers a new one if that file is lost.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from voicebridge.accounts import service as accounts
from voicebridge.accounts.models import Role, User
from voicebridge.audio.speechlike import make_recording
from voicebridge.auth import service as auth
from voicebridge.auth.passwords import Passwords
from voicebridge.config import Settings
from voicebridge.errors import DomainError
from voicebridge.families import service as families
from voicebridge.families.models import Relation
from voicebridge.families.schemas import CONSENT_PURPOSES
from voicebridge.help import profiles
from voicebridge.jobs.registry import JobContext
from voicebridge.jobs.worker import Worker, load_handlers, new_worker_id
from voicebridge.messages import purpose as _message_purpose  # noqa: F401  (registers "message")
from voicebridge.messages import service as messages
from voicebridge.schools import service as schools
from voicebridge.schools.models import Child, School, SchoolClass, StaffRole
from voicebridge.storage.base import ObjectStore
from voicebridge.stories import boxes
from voicebridge.stories import service as stories
from voicebridge.stories.models import StoryBox, Visibility
from voicebridge.stories.purpose import ingest_file
from voicebridge.uploads import service as uploads

DEMO_PASSWORD = "demo-password"
SCHOOL_NAME = "Hope Primary Boarding School"
BOX_TITLE = "Grade 3 bedtime stories"
DEVICE_NAME = "Library tablet"
CREDENTIAL_FILE = "demo-device.json"

# (what, login, display name, role)
ACCOUNTS = [
    ("admin", "admin@demo.voicebridge", "Demo admin", Role.admin),
    ("school staff (safeguarding contact)", "teacher@demo.voicebridge", "Teacher Wang", None),
    ("parent of Xiaoming", "+8613800138000", "Li Qiang", Role.guardian),
    ("parent of Fang", "+8613900139000", "Zhang Min", Role.guardian),
    ("psychologist (verified, on duty)", "dr.chen@demo.voicebridge", "Dr Chen", Role.psychologist),
    ("supervisor (on duty)", "dr.liu@demo.voicebridge", "Dr Liu", Role.psychologist),
    ("moderator", "moderator@demo.voicebridge", "Moderator Sun", Role.moderator),
    # A narrator registers like anyone (POST /auth/register); a moderator verifies them.
    ("narrator (verified)", "+8613700137000", "Auntie Mei", Role.guardian),
]
# (given, family, class, birth year, PIN)
CHILDREN = [
    ("Xiaoming", "Li", "Grade 3", 2018, "1234"),
    ("Fang", "Zhang", "Grade 3", 2017, "5678"),
    ("Jun", "Wu", "Grade 5", 2015, "2468"),
]


@dataclass
class DemoChild:
    id: uuid.UUID
    name: str
    class_name: str
    pin: str


@dataclass
class DemoWorld:
    created: bool
    password: str
    school_id: uuid.UUID
    device_token: str
    box_id: uuid.UUID
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    children: list[DemoChild] = field(default_factory=list)


def seed(engine: Engine, store: ObjectStore, settings: Settings) -> DemoWorld:
    with Session(engine, expire_on_commit=False) as session:
        school = session.exec(select(School).where(School.name == SCHOOL_NAME)).first()
        created = school is None
        if school is None:
            _create(session, store, settings)
            session.commit()
    if created:
        # The parents' messages were queued like any upload; process them now so
        # they are playable before the server answers its first request.
        load_handlers()
        context = JobContext(engine, settings, store, new_worker_id())
        lease = timedelta(seconds=settings.jobs.lease_seconds)
        Worker(context, lease=lease, kinds=[uploads.PROCESS_JOB]).run_until_idle()
    with Session(engine, expire_on_commit=False) as session:
        world = _describe(session, settings, created)
        session.commit()
    return world


def _create(session: Session, store: ObjectStore, settings: Settings) -> None:
    passwords = Passwords(settings.auth)
    people: dict[str, User] = {}
    for what, login, name, role in ACCOUNTS:
        if role is not None:
            people[what] = accounts.create_user(
                session,
                passwords,
                role=role,
                login=login,
                display_name=name,
                password=DEMO_PASSWORD,
            )
    admin, moderator = people["admin"], people["moderator"]
    school = schools.create_school(
        session,
        SCHOOL_NAME,
        "Guizhou, Bijie",
        "Asia/Shanghai",
        [{"weekday": d, "start": "18:30", "end": "19:30"} for d in range(5)],
    )
    _, teacher_login, teacher_name, _ = ACCOUNTS[1]
    _, teacher = schools.add_staff(
        session,
        passwords,
        school,
        login=teacher_login,
        display_name=teacher_name,
        password=DEMO_PASSWORD,
        role=StaffRole.admin,
        is_safeguarding_contact=True,
    )
    classes = {name: schools.create_class(session, school, name) for name in ("Grade 3", "Grade 5")}
    kids = [
        schools.enrol_child(
            session,
            passwords,
            school,
            given_name=given,
            family_name=family,
            class_id=classes[class_name].id,
            birth_year=year,
            pin=pin,
        )
        for given, family, class_name, year, pin in CHILDREN
    ]
    for child, what, relation in (
        (kids[0], "parent of Xiaoming", Relation.father),
        (kids[1], "parent of Fang", Relation.mother),
    ):
        _, code = families.issue_invitation(
            session, settings.auth, child, relation, "ID card checked (demo)", teacher.id
        )
        families.redeem(
            session,
            settings.auth,
            people[what],
            code,
            notice_version="2026-09",
            purposes=list(CONSENT_PURPOSES),
            retention_days=365,
            agreed=True,
        )
    for what, supervisor in (
        ("psychologist (verified, on duty)", False),
        ("supervisor (on duty)", True),
    ):
        profile = profiles.apply(
            session,
            settings.help,
            people[what],
            credentials="Registered counsellor (demo)",
            languages=["cmn", "sichuanese"] if supervisor else ["cmn"],
            specialties=["bullying", "family"] if supervisor else ["lonely", "family"],
            capacity=3,
            timezone="Asia/Shanghai",
            availability=[{"weekday": d, "start": "18:00", "end": "22:00"} for d in range(7)],
        )
        profiles.decide(session, moderator, profile, verified=True, is_supervisor=supervisor)
        profiles.set_duty(session, profile, True)
    _register_device(session, settings, school.id, admin.id)
    with tempfile.TemporaryDirectory(prefix="vb-demo-") as tmp:
        _messages(session, store, people["parent of Xiaoming"], kids[0], Path(tmp))
        box = _story(session, store, settings, people, Path(tmp))
    boxes.assign(session, box, school.id, classes["Grade 3"].id)
    session.flush()


def _messages(session: Session, store: ObjectStore, father: User, child: Child, tmp: Path) -> None:
    """Two voice messages from Xiaoming's father and a reply, queued like uploads."""
    child_user = session.get(User, child.id)
    assert child_user is not None
    thread = messages.open_thread(session, father, child, None)
    for number, (sender, seconds, caption) in enumerate(
        (
            (father, 12, "Good night from Shenzhen"),
            (father, 8, "Dad is proud of you"),
            (child_user, 6, "I got a star today!"),
        )
    ):
        path = make_recording(tmp / f"message-{number}.m4a", "m4a", seconds, seed=11 + number)
        metadata = {"purpose": "message", "thread_id": str(thread.id), "caption": caption}
        asset, _ = uploads.start_asset(session, sender, metadata, "audio/mp4")
        key = uploads.new_key(uploads.ORIGINAL_PREFIX, "bin")
        sha = _sha256(path)
        store.put_file(key, path, uploads.DEFAULT_CONTENT_TYPE, sha)
        asset.original_sha256 = sha
        uploads.mark_processing(session, asset, key, path.stat().st_size)


def _story(
    session: Session, store: ObjectStore, settings: Settings, people: dict[str, User], tmp: Path
) -> StoryBox:
    """A verified narrator's two-chapter story, approved, published, in a class box."""
    narrator, moderator = people["narrator (verified)"], people["moderator"]
    stories.apply_as_narrator(session, narrator, "Auntie Mei", "Reads stories on Sunday nights")
    stories.verify_narrator(session, moderator, narrator.id, True)
    story = stories.create_story(
        session,
        narrator,
        visibility=Visibility.public,
        title="The Moon Rabbit",
        description="A rabbit who bakes mooncakes for the whole village",
        language="zh",
        age_min=5,
        age_max=10,
        tags=["bedtime", "festival"],
    )
    for number, title in ((1, "The rabbit wakes up"), (2, "Mooncakes for everyone")):
        path = make_recording(tmp / f"chapter-{number}.m4a", "m4a", 15, seed=40 + number)
        metadata = {
            "story_id": str(story.id),
            "chapter_number": str(number),
            "chapter_title": title,
        }
        ingest_file(session, store, settings.audio, narrator, path, metadata)
    stories.submit(session, story)
    stories.review(session, moderator, story, True, None)
    stories.publish(session, story)
    box = boxes.create_box(session, moderator, BOX_TITLE, "Stories for the evening listening hour")
    boxes.add_story(session, box, story)
    return box


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _register_device(
    session: Session, settings: Settings, school_id: uuid.UUID, by: uuid.UUID
) -> str:
    _, token = auth.register_device(session, settings.auth, school_id, DEVICE_NAME, by)
    path = settings.data_dir / CREDENTIAL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"school_id": str(school_id), "device_token": token}, fh)
    return token


def _device_token(session: Session, settings: Settings, school: School) -> str:
    """The stored demo credential if it still works, else a freshly registered one."""
    path = settings.data_dir / CREDENTIAL_FILE
    try:
        token = str(json.loads(path.read_text())["device_token"])
        device = auth.authenticate_device(session, token)
        if device.school_id == school.id:
            return token
    except (OSError, ValueError, KeyError, DomainError):
        pass
    membership, _ = schools.list_staff(session, school.id)[0]
    return _register_device(session, settings, school.id, membership.user_id)


def _describe(session: Session, settings: Settings, created: bool) -> DemoWorld:
    school = session.exec(select(School).where(School.name == SCHOOL_NAME)).one()
    box = session.exec(select(StoryBox).where(StoryBox.title == BOX_TITLE)).one()
    world = DemoWorld(
        created=created,
        password=DEMO_PASSWORD,
        school_id=school.id,
        device_token=_device_token(session, settings, school),
        box_id=box.id,
        accounts=[(what, login, name) for what, login, name, _ in ACCOUNTS],
    )
    rows = session.exec(
        select(Child, SchoolClass)
        .where(Child.school_id == school.id, col(Child.class_id) == SchoolClass.id)
        .order_by(col(Child.given_name))
    ).all()
    pins = {given: pin for given, _, _, _, pin in CHILDREN}
    for child, school_class in rows:
        world.children.append(
            DemoChild(
                child.id,
                f"{child.given_name} {child.family_name}",
                school_class.name,
                pins.get(child.given_name, "?"),
            )
        )
    return world


def render(world: DemoWorld, base: str) -> str:
    """What `voicebridge demo` and `serve --demo` print, every time."""
    lines = [
        "",
        "Demo school ready." if world.created else "Demo school (already set up).",
        f"  App:       {base}/  (parents: {base}/parent, school tablet: {base}/kiosk)",
        f"  API docs:  {base}/docs",
        f"  Password for every demo account: {world.password}",
    ]
    width = max(len(what) for what, _, _ in world.accounts)
    lines += [f"  {what:<{width}}  {login}  ({name})" for what, login, name in world.accounts]
    lines.append(f"  School device credential (X-Device-Token): {world.device_token}")
    lines += [
        f"  child {c.name:<12} {c.class_name:<8} PIN {c.pin}  id {c.id}" for c in world.children
    ]
    lines.append(f"  Story box for Grade 3: {world.box_id}")
    lines.append(
        f"\n  curl -s -X POST {base}/api/v1/auth/login -H 'content-type: application/json' \\\n"
        f'       -d \'{{"login": "{world.accounts[2][1]}", "password": "{world.password}"}}\'\n'
    )
    return "\n".join(lines)
