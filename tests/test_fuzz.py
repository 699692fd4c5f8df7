"""A schema fuzz of every operation, with every schemathesis check on, as six roles.

Cases come from the OpenAPI document (valid and invalid data), plus strings
the fuzzer would not try by itself: NUL, lone surrogates, absurdly long
numbers and non-ASCII or non-base64 tus metadata. Each case is sent as
admin, school staff, a guardian, a child, a psychologist and a moderator of
the access harness's world; each answer must pass every check (no 5xx, a
documented status and content type, a body matching its schema, valid data
accepted, invalid data refused). On PostgreSQL and SQLite (the app fixture).
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.feedback import FeedbackSources
from sqlmodel import Session

from tests.access.harness import build_world
from tests.factories import Factory
from voicebridge.accounts.schemas import LOGIN_PATTERN
from voicebridge.config import Settings

ROLES = ["admin", "school_staff", "own_guardian", "child", "psychologist", "moderator"]
EXAMPLES = int(os.environ.get("VOICEBRIDGE_FUZZ_EXAMPLES", "2"))

NASTY_TEXT = [
    "nul\x00here",
    "\x00",
    "lone \ud800 surrogate",
    "\udfff",
    "9" * 5000,
    "宝贝\x00",
]
NASTY_HEADERS: dict[str, list[str]] = {
    "Upload-Metadata": [
        "purpose 宝贝",
        "purpose message,purpose bWVzc2FnZQ==",
        "purpose bWVzc2FnZQ==,chapter_number " + "OTk5" * 10,
        "purpose !!!",
        "purpose " + "QUFB" * 3000,
        "purpose AA==",  # base64 of a NUL
    ],
    "Upload-Length": ["9" * 5000, "²", "-1", "1e9"],
    "Upload-Offset": ["9" * 5000, "٣"],
    "Upload-Checksum": ["sha1 宝贝", "sha256 !!!", "md5 AAAA"],
    "Range": ["bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000],
    "Idempotency-Key": ["\x7f", "k" * 500],
    "X-Request-ID": ["宝贝", "x" * 500],
}


def _strings(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def _nasty_variants(case: schemathesis.Case, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Ways to send ``case`` with one nasty value in a string field, a query or a header."""
    targets = list(_strings(case.body)) if isinstance(case.body, (dict, list)) else []
    for path in rng.sample(targets, min(2, len(targets))):
        yield {"json": _replace(case.body, path, rng.choice(NASTY_TEXT))}
    for name in list(case.query or {})[:1]:
        # As bytes: a lone surrogate reaches the wire as its (invalid) UTF-8 form,
        # percent-encoded, which is what a broken client really sends.
        nasty = rng.choice(NASTY_TEXT[:4]).encode("utf-8", "surrogatepass")
        yield {"params": {**(case.query or {}), name: nasty}}
    for header, values in NASTY_HEADERS.items():
        # On the wire a header is bytes: a phone sends its UTF-8 as is.
        yield {"headers": {header: rng.choice(values).encode().decode("latin-1")}}


# Registration and password reset need the one-time code sent by SMS to the phone: a
# generated code was never sent, so the case cannot be valid data (400 invalid-code).
NEEDS_SMS_CODE = {"/api/v1/auth/register", "/api/v1/auth/password-reset"}


def _breaks_its_own_schema(case: schemathesis.Case) -> bool:
    """schemathesis fills a login form's fields from its own pool, ignoring their pattern
    ("000", "docs-assets"); such a case is not valid data, so only the universal checks apply."""
    if case.path in NEEDS_SMS_CODE:
        return True
    body = case.body if isinstance(case.body, dict) else {}
    login = body.get("login")
    return isinstance(login, str) and re.fullmatch(LOGIN_PATTERN, login) is None


def test_schema_fuzz_with_all_checks_as_every_role(
    app: FastAPI, session: Session, factory: Factory, settings: Settings
) -> None:
    world = build_world(session, factory, settings, app.state.store)
    session.flush()
    tokens = {role: world.headers(role) for role in ROLES}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    rng = random.Random(8)
    failures: list[str] = []
    calls = 0

    def check(case: schemathesis.Case, role: str, **extra: Any) -> None:
        nonlocal calls
        calls += 1
        modified = bool(extra) or _breaks_its_own_schema(case)
        headers = {**tokens[role], **extra.pop("headers", {})}
        if case.headers:
            # The idempotency middleware claims its key on a connection of its own,
            # which the test's open transaction would block on SQLite; it has its
            # own tests (tests/idempotency) on a committed database.
            case.headers.pop("Idempotency-Key", None)
        try:
            response = case.call(headers=headers, **extra)
            if modified:
                # A changed body or query is not the generated case: only the
                # universal checks apply (no 5xx, documented status and type).
                if response.status_code >= 500:
                    raise AssertionError(f"{response.status_code}: {response.text[:300]}")
                ok = set(case.operation.definition.raw["responses"])
                assert str(response.status_code) in ok, (response.status_code, sorted(ok))
            else:
                case.validate_response(response, headers=headers)
        except (FailureGroup, AssertionError) as exc:
            failures.append(f"{role} {case.method} {case.path} {extra}: {str(exc)[:1500]}")

    for result in schema.get_all_operations():
        operation = result.ok()
        nasty_done = False
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(8)
            @hsettings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                derandomize=True,
            )
            # No FeedbackSources: schemathesis's pool of constants ignores patterns.
            @given(case=operation.as_strategy(generation_mode=mode, feedback=FeedbackSources()))
            def run(case: schemathesis.Case) -> None:
                nonlocal nasty_done
                for role in ROLES:
                    check(case, role)
                if not nasty_done and case.meta and case.meta.generation.mode.is_positive:
                    # The nasty strings, once per operation, on a valid case.
                    nasty_done = True
                    for variant in _nasty_variants(case, rng):
                        for role in rng.sample(ROLES, 2):
                            check(case, role, **dict(variant))

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to make invalid
    report = os.environ.get("VOICEBRIDGE_FUZZ_REPORT")
    if report:
        Path(report).write_text("\n\n=====\n".join(failures))
    assert calls > 1500, "the fuzz barely ran"
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:40])
