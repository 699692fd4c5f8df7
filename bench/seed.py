"""Fills PostgreSQL with the pilot's volume, through the real (migrated) tables.

Run by hand: ``python bench/seed.py [--scale 1.0] [--database-url URL]``.

At ``--scale 1``: 70 schools, 30,000 children, 45,000 linked guardians (every
child one, half of them two), a family thread per link and a school thread
per child, 1,000,000 ready voice messages over six months (each with its
audio asset), a listen per message by its listener, and 2,000,000 story
chapter progress rows (100 published stories of 10 chapters in a box per
school): 3,000,000 listening-progress rows in all. Rows go in with COPY, one
table at a time, indexes in place but foreign-key triggers off
(``session_replication_role = replica``: the rows are consistent by
construction; it needs a superuser, as a bench database has); then ANALYZE,
so the planner knows the volume as it would in production.

The database (``--database-url``) is dropped, created and migrated first
unless ``--keep``. For ``bench/load.py`` it writes ``--tokens`` (default
``bench-tokens.json``): the database URL, the signing secret the server must
use, and access tokens for a sample of children, guardians and staff, with
the threads and messages each may read.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _path  # noqa: F401  (puts the repository root on sys.path)
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from voicebridge.auth.tokens import issue_access_token
from voicebridge.config import AuthSettings
from voicebridge.migrate import upgrade

SCHOOLS = 70
CHILDREN = 30_000
MESSAGES = 1_000_000
STORY_PROGRESS = 2_000_000
STORIES = 100
CHAPTERS = 10
CLASSES_PER_SCHOOL = 6
STAFF_PER_SCHOOL = 3
SAMPLE = {"child": 2000, "guardian": 2000, "staff": 140}
SIX_MONTHS = timedelta(days=182)
TOKEN_LIFETIME = timedelta(hours=12)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/voicebridge_bench"
TOKENS = Path("bench-tokens.json")
# Every seeded recording plays one object, which bench/load.py puts in its store.
PLAYABLE_KEY = "audio/seed/shared.opus"
PLAYABLE_SIZE = 180_000

Row = Sequence[Any]


TIMINGS: dict[str, float] = {}


def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
    count = 0
    started = time.perf_counter()
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    TIMINGS[table] = TIMINGS.get(table, 0.0) + time.perf_counter() - started
    return count


def seed(url: str, scale: float, tokens_path: Path, secret: str) -> dict[str, Any]:
    rng = random.Random(14)
    now = datetime.now(UTC)
    start = now - SIX_MONTHS
    n_children = max(int(CHILDREN * scale), SCHOOLS)
    n_messages = int(MESSAGES * scale)
    n_story_progress = int(STORY_PROGRESS * scale)
    counts: dict[str, int] = {}
    empty = json.dumps([])
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        cur = conn.cursor()
        # Consistent by construction; a trigger per row per foreign key halves the speed.
        cur.execute("SET session_replication_role = replica")
        cur.execute("SELECT count(*) FROM users")
        row = cur.fetchone()
        if row is not None and row[0]:
            raise SystemExit("the database is not empty: seed a fresh, migrated one")

        schools = [uuid.uuid4() for _ in range(SCHOOLS)]
        counts["schools"] = _copy(
            cur,
            "schools",
            ("id", "name", "region", "timezone", "listening_hours", "created_at"),
            (
                (s, f"School {i}", "Guizhou", "Asia/Shanghai", empty, start)
                for i, s in enumerate(schools)
            ),
        )
        classes = {s: [uuid.uuid4() for _ in range(CLASSES_PER_SCHOOL)] for s in schools}
        counts["school_classes"] = _copy(
            cur,
            "school_classes",
            ("id", "school_id", "name", "created_at"),
            ((c, s, f"Grade {i + 1}", start) for s in schools for i, c in enumerate(classes[s])),
        )
        staff = {s: [uuid.uuid4() for _ in range(STAFF_PER_SCHOOL)] for s in schools}
        children = [uuid.uuid4() for _ in range(n_children)]
        child_school = {c: schools[i % SCHOOLS] for i, c in enumerate(children)}
        guardians: list[tuple[uuid.UUID, uuid.UUID]] = []  # (guardian, child)
        for child in children:
            guardians.append((uuid.uuid4(), child))
            if rng.random() < 0.5:
                guardians.append((uuid.uuid4(), child))
        narrator = uuid.uuid4()
        users: list[Row] = [(narrator, "guardian", "Narrator", start)]
        users += [
            (u, "staff", f"Teacher {i}", start) for s in schools for i, u in enumerate(staff[s])
        ]
        users += [(c, "child", f"Child {i}", start) for i, c in enumerate(children)]
        users += [(g, "guardian", f"Parent {i}", start) for i, (g, _) in enumerate(guardians)]
        counts["users"] = _copy(cur, "users", ("id", "role", "display_name", "created_at"), users)
        counts["staff_memberships"] = _copy(
            cur,
            "staff_memberships",
            ("id", "school_id", "user_id", "role", "is_safeguarding_contact", "created_at"),
            (
                (uuid.uuid4(), s, u, "admin" if i == 0 else "teacher", i == 0, start)
                for s in schools
                for i, u in enumerate(staff[s])
            ),
        )
        counts["children"] = _copy(
            cur,
            "children",
            (
                "id",
                "school_id",
                "class_id",
                "given_name",
                "family_name",
                "birth_year",
                "pin_hash",
                "pin_failures",
                "enrolled_at",
            ),  # fmt: skip
            (
                (
                    c,
                    child_school[c],
                    rng.choice(classes[child_school[c]]),
                    f"Child{i}",
                    "Li",
                    2015 + i % 6,
                    "seeded-no-pin",
                    0,
                    start,
                )
                for i, c in enumerate(children)
            ),  # fmt: skip
        )
        links = [(uuid.uuid4(), uuid.uuid4(), g, c) for g, c in guardians]  # link, invitation
        counts["invitations"] = _copy(
            cur,
            "invitations",
            (
                "id",
                "child_id",
                "school_id",
                "relation",
                "code_hash",
                "created_by",
                "created_at",
                "expires_at",
                "redeemed_at",
                "redeemed_by",
            ),  # fmt: skip
            (
                (
                    inv,
                    c,
                    child_school[c],
                    "mother",
                    uuid.uuid4().hex,
                    staff[child_school[c]][0],
                    start,
                    start + timedelta(days=7),
                    start,
                    g,
                )
                for _, inv, g, c in links
            ),  # fmt: skip
        )
        counts["guardian_links"] = _copy(
            cur,
            "guardian_links",
            (
                "id",
                "child_id",
                "guardian_id",
                "relation",
                "invitation_id",
                "verified_by",
                "created_at",
            ),  # fmt: skip
            (
                (link, c, g, "mother", inv, staff[child_school[c]][0], start)
                for link, inv, g, c in links
            ),
        )
        purposes = json.dumps(["messages"])
        counts["consents"] = _copy(
            cur,
            "consents",
            (
                "id",
                "link_id",
                "guardian_id",
                "child_id",
                "notice_version",
                "purposes",
                "retention_days",
                "given_at",
            ),  # fmt: skip
            (
                (uuid.uuid4(), link, g, c, "2026-09", purposes, 365, start)
                for link, _, g, c in links
            ),
        )

        # Threads: (id, kind, child, guardian, school, peer, sender pool)
        threads: list[tuple[uuid.UUID, str, uuid.UUID, uuid.UUID | None, uuid.UUID | None]] = []
        for _, _, g, c in links:
            threads.append((uuid.uuid4(), "family", c, g, None))
        for c in children:
            threads.append((uuid.uuid4(), "school", c, None, child_school[c]))
        # Family threads carry most of the traffic; school threads the rest.
        family = [t for t in threads if t[1] == "family"]
        weights = [8 if t[1] == "family" else 1 for t in threads]
        picks = rng.choices(range(len(threads)), weights=weights, k=n_messages)
        span = SIX_MONTHS.total_seconds()
        messages: list[tuple[uuid.UUID, int, uuid.UUID, uuid.UUID, datetime]] = []
        last_at: dict[int, datetime] = {}
        for t_index in picks:
            _, kind, child, guardian, school = threads[t_index]
            if kind == "family":
                assert guardian is not None
                adult = guardian
            else:
                assert school is not None
                adult = staff[school][0]
            sender = child if rng.random() < 0.3 else adult
            listener = adult if sender == child else child
            at = start + timedelta(seconds=rng.random() * span)
            messages.append((uuid.uuid4(), t_index, sender, listener, at))
            if at > last_at.get(t_index, start):
                last_at[t_index] = at
        counts["threads"] = _copy(
            cur,
            "threads",
            (
                "id",
                "kind",
                "child_id",
                "guardian_id",
                "school_id",
                "peer_id",
                "created_at",
                "last_message_at",
                "activity_at",
            ),  # fmt: skip
            (
                (
                    t[0],
                    t[1],
                    t[2],
                    t[3],
                    t[4],
                    t[3] or t[4],
                    start,
                    last_at.get(i),
                    last_at.get(i, start),
                )
                for i, t in enumerate(threads)
            ),  # fmt: skip
        )
        asset_ids = [uuid.uuid4() for _ in messages]
        counts["audio_assets"] = _copy(
            cur,
            "audio_assets",
            (
                "id",
                "owner_id",
                "purpose",
                "state",
                "original_key",
                "original_size",
                "playable_key",
                "playable_size",
                "duration_ms",
                "peaks",
                "created_at",
                "ready_at",
            ),  # fmt: skip
            (
                (
                    a,
                    m[2],
                    "message",
                    "ready",
                    f"original/seed/{a.hex}.bin",
                    400_000,
                    f"audio/seed/{a.hex}.opus",
                    180_000,
                    60_000,
                    empty,
                    m[4],
                    m[4],
                )
                for a, m in zip(asset_ids, messages, strict=True)
            ),  # fmt: skip
        )
        counts["messages"] = _copy(
            cur,
            "messages",
            ("id", "thread_id", "sender_id", "asset_id", "state", "created_at", "ready_at"),
            (
                (m[0], threads[m[1]][0], m[2], a, "ready", m[4], m[4])
                for a, m in zip(asset_ids, messages, strict=True)
            ),
        )
        heard = json.dumps([[0, 60_000]])
        counts["message_listens"] = _copy(
            cur,
            "message_listens",
            (
                "id",
                "message_id",
                "listener_id",
                "position_ms",
                "heard",
                "heard_ms",
                "play_ids",
                "plays",
                "first_heard_at",
                "last_heard_at",
                "completed_at",
                "updated_at",
            ),  # fmt: skip
            (
                (uuid.uuid4(), m[0], m[3], 60_000, heard, 60_000, empty, 1, m[4], m[4], m[4], m[4])
                for m in messages
                if rng.random() < 0.95  # the newest few are not heard yet
            ),
        )
        for table, n in _stories(
            cur, rng, narrator, schools, children, n_story_progress, start
        ).items():
            counts[table] = counts.get(table, 0) + n
        conn.commit()
        seeded = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("ANALYZE")
    tokens = _tokens(url, rng, secret, schools, staff, children, family, child_school)
    tokens_path.write_text(
        json.dumps({"database_url": url, "secret_key": secret, "scale": scale, "users": tokens})
    )
    return {
        "bench": "seed",
        "scale": scale,
        "rows": counts,
        "seconds": round(seeded, 1),
        "rows_per_second": round(sum(counts.values()) / seeded),
        "copy_seconds": {k: round(v, 2) for k, v in TIMINGS.items()},
        "tokens": str(tokens_path),
    }


def _stories(
    cur: psycopg.Cursor[Any],
    rng: random.Random,
    narrator: uuid.UUID,
    schools: list[uuid.UUID],
    children: list[uuid.UUID],
    n_progress: int,
    start: datetime,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    stories = [uuid.uuid4() for _ in range(STORIES)]
    chapters = [(uuid.uuid4(), s, n + 1, uuid.uuid4()) for s in stories for n in range(CHAPTERS)]
    empty = json.dumps([])
    counts["narrator_profiles"] = _copy(
        cur,
        "narrator_profiles",
        ("user_id", "display_name", "bio", "state", "created_at"),
        [(narrator, "Narrator", "", "verified", start)],
    )
    counts["stories"] = _copy(
        cur,
        "stories",
        (
            "id",
            "narrator_id",
            "visibility",
            "status",
            "title",
            "description",
            "language",
            "age_min",
            "age_max",
            "tags",
            "created_at",
            "updated_at",
            "published_at",
        ),  # fmt: skip
        (
            (
                s,
                narrator,
                "public",
                "published",
                f"Story {i}",
                "",
                "zh",
                6,
                15,
                empty,
                start,
                start,
                start,
            )
            for i, s in enumerate(stories)
        ),  # fmt: skip
    )
    counts["audio_assets"] = _copy(
        cur,
        "audio_assets",
        (
            "id",
            "owner_id",
            "purpose",
            "state",
            "playable_key",
            "playable_size",
            "duration_ms",
            "peaks",
            "created_at",
            "ready_at",
        ),  # fmt: skip
        (
            (
                a,
                narrator,
                "story_chapter",
                "ready",
                f"audio/seed/{a.hex}.opus",
                900_000,
                300_000,
                empty,
                start,
                start,
            )
            for _, _, _, a in chapters
        ),  # fmt: skip
    )
    counts["story_chapters"] = _copy(
        cur,
        "story_chapters",
        ("id", "story_id", "number", "title", "asset_id", "state", "created_at"),
        ((c, s, n, f"Chapter {n}", a, "ready", start) for c, s, n, a in chapters),
    )
    box = uuid.uuid4()
    counts["story_boxes"] = _copy(
        cur,
        "story_boxes",
        ("id", "title", "description", "version", "created_by", "created_at"),
        [(box, "Pilot box", "", 1, narrator, start)],
    )
    counts["story_box_entries"] = _copy(
        cur,
        "story_box_entries",
        ("box_id", "story_id", "position"),
        ((box, s, i) for i, s in enumerate(stories)),
    )
    counts["story_box_assignments"] = _copy(
        cur,
        "story_box_assignments",
        ("id", "box_id", "school_id", "created_at"),
        ((uuid.uuid4(), box, s, start) for s in schools),
    )
    per_child = max(1, n_progress // len(children))
    heard = json.dumps([[0, 300_000]])
    counts["story_chapter_progress"] = _copy(
        cur,
        "story_chapter_progress",
        ("child_id", "chapter_id", "story_id", "position_ms", "heard", "finished", "updated_at"),
        (
            (child, c, s, 300_000, heard, True, start)
            for child in children
            for c, s, _, _ in rng.sample(chapters, min(per_child, len(chapters)))
        ),
    )
    return counts


def _tokens(
    url: str,
    rng: random.Random,
    secret: str,
    schools: list[uuid.UUID],
    staff: dict[uuid.UUID, list[uuid.UUID]],
    children: list[uuid.UUID],
    family: list[tuple[uuid.UUID, str, uuid.UUID, uuid.UUID | None, uuid.UUID | None]],
    child_school: dict[uuid.UUID, uuid.UUID],
) -> dict[str, list[dict[str, Any]]]:
    """Signed-in users for the load test, each with what they will read.

    An auth session row per user (what sign-in makes) and an access token for
    it; minting the tokens directly skips sign-in, whose Argon2 cost is not
    what the listening hour measures.
    """
    settings = AuthSettings(secret_key=secret)
    now = datetime.now(UTC)
    guardian_threads = rng.sample(family, min(SAMPLE["guardian"], len(family)))
    picked: dict[str, list[tuple[uuid.UUID, str, uuid.UUID]]] = {
        "child": [
            (c, "child", child_school[c])
            for c in rng.sample(children, min(SAMPLE["child"], len(children)))
        ],
        "guardian": [(t[3], "guardian", t[0]) for t in guardian_threads if t[3] is not None],
        "staff": [(staff[s][0], "staff", s) for s in schools][: SAMPLE["staff"]],
    }
    out: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        cur = conn.cursor()
        rows = []
        for role, people in picked.items():
            out[role] = []
            for user_id, _, about in people:
                session_id = uuid.uuid4()
                rows.append((session_id, user_id, now, now + TOKEN_LIFETIME))
                token, _ = issue_access_token(settings, user_id, session_id, role, TOKEN_LIFETIME)
                entry: dict[str, Any] = {"token": token, "user_id": str(user_id)}
                if role == "staff":
                    entry["school_id"] = str(about)
                else:
                    entry.update(_reading(cur, role, user_id, about))
                out[role].append(entry)
        _copy(cur, "auth_sessions", ("id", "user_id", "created_at", "expires_at"), rows)
        conn.commit()
    return out


def _reading(
    cur: psycopg.Cursor[Any], role: str, user_id: uuid.UUID, about: uuid.UUID
) -> dict[str, Any]:
    """A thread the user takes part in, and a few messages in it sent by the other side."""
    if role == "child":
        cur.execute(
            "SELECT id FROM threads WHERE child_id = %s AND kind = 'family' LIMIT 1", (user_id,)
        )
        row = cur.fetchone()
        thread = row[0] if row else None
    else:
        thread = about
    cur.execute(
        "SELECT id FROM messages WHERE thread_id = %s AND sender_id <> %s "
        "ORDER BY created_at DESC LIMIT 5",
        (thread, user_id),
    )
    messages = [str(r[0]) for r in cur.fetchall()]
    cur.execute(
        "SELECT id FROM messages WHERE thread_id = %s AND sender_id = %s "
        "ORDER BY created_at DESC LIMIT 3",
        (thread, user_id),
    )
    sent = [str(r[0]) for r in cur.fetchall()]
    return {"thread_id": str(thread), "messages": messages, "sent": sent}


def fresh_database(url: str) -> None:
    """Drops and re-creates the database named in ``url``, then migrates it."""
    target = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    upgrade(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 is the pilot's volume")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("VOICEBRIDGE_BENCH_DATABASE_URL", DEFAULT_URL),
        help=f"PostgreSQL database to (re)create and fill (default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="fill the database as it is (migrated and empty)"
    )
    parser.add_argument("--tokens", type=Path, default=TOKENS)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("--database-url must be PostgreSQL")
    if not args.keep:
        fresh_database(args.database_url)
    secret = os.environ.get("VOICEBRIDGE_AUTH__SECRET_KEY") or secrets.token_urlsafe(48)
    print(json.dumps(seed(args.database_url, args.scale, args.tokens, secret)))


if __name__ == "__main__":
    main()
