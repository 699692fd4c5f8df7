"""Every query the listening hour makes is answered from an index, on PostgreSQL.

The routes are called for real (children, guardians and staff); every
statement they send is captured and EXPLAINed with sequential scans, hash
and merge joins priced out (``enable_seqscan = off`` ...), which is how the
planner shows whether an index *can* answer a query whatever the table's
size: where none can, it still has to scan. A scan of messages, listens or
threads (sequential, or a whole index read without a condition) fails the
test, naming the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlmodel import Session

from tests.factories import Factory
from tests.messages.conftest import Family
from tests.messages.helpers import ready_message
from voicebridge.messages import service

HOT_TABLES = {"messages", "message_listens", "threads"}
# With a few rows, reading a whole table (or hashing it for a join) is the
# cheapest plan; at a million rows it is the 4-second report. Pricing these
# out leaves the planner the plans that scale, if an index makes one possible.
WHOLE_TABLE_STRATEGIES = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")


@pytest.fixture
def captured(session: Session) -> Iterator[list[tuple[str, Any]]]:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    connection = session.connection()
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            statements.append((statement, params))

    event.listen(connection, "before_cursor_execute", record)
    yield statements
    event.remove(connection, "before_cursor_execute", record)


def _index_tables(session: Session) -> dict[str, str]:
    rows = session.connection().execute(text("SELECT indexname, tablename FROM pg_indexes"))
    return {str(name): str(table) for name, table in rows}


def _scans(plan: dict[str, Any], indexes: dict[str, str]) -> Iterator[str]:
    """Nodes that read a hot table from end to end."""
    node = plan.get("Node Type", "")
    table = plan.get("Relation Name") or indexes.get(plan.get("Index Name", ""), "")
    if table in HOT_TABLES:
        if node == "Seq Scan":
            yield f"Seq Scan on {table}"
        elif "Index Name" in plan and "Index Cond" not in plan:
            yield f"{node} of all of {plan['Index Name']}"
    for child in plan.get("Plans", []):
        yield from _scans(child, indexes)


def test_listening_hour_queries_use_indexes(
    client: TestClient,
    session: Session,
    factory: Factory,
    family: Family,
    app_store: Any,
    captured: list[tuple[str, Any]],
) -> None:
    messages = [ready_message(session, app_store, family.guardian, family.thread) for _ in range(3)]
    school_thread = service.open_thread(session, family.staff, family.child, None)
    ready_message(session, app_store, family.staff, school_thread)
    child_h = factory.headers(family.child_user)
    guardian_h = factory.headers(family.guardian)
    staff_h = factory.headers(family.staff)
    session.commit()
    captured.clear()

    def ok(response: Any) -> Any:
        assert response.status_code < 400, response.text
        return response

    # Children: the inbox, a thread's first and a deep page, audio, progress.
    ok(client.get("/api/v1/threads", headers=child_h))
    first = ok(
        client.get(f"/api/v1/threads/{family.thread.id}/messages?limit=1", headers=child_h)
    ).json()
    ok(
        client.get(
            f"/api/v1/threads/{family.thread.id}/messages?limit=1&cursor={first['next_cursor']}",
            headers=child_h,
        )
    )
    ok(client.get(f"/api/v1/messages/{messages[0].id}/audio", headers=child_h))
    ok(
        client.post(
            f"/api/v1/messages/{messages[0].id}/progress",
            json={"play_id": "p1", "position_ms": 1000},
            headers=child_h,
        )
    )
    # Guardians: their threads, a thread, a receipt.
    ok(client.get("/api/v1/threads", headers=guardian_h))
    ok(client.get(f"/api/v1/threads/{family.thread.id}/messages", headers=guardian_h))
    ok(client.get(f"/api/v1/messages/{messages[0].id}/receipt", headers=guardian_h))
    # Staff: the school inbox and the quiet-children report.
    ok(client.get("/api/v1/threads", headers=staff_h))
    ok(client.get(f"/api/v1/schools/{family.school.id}/quiet-children", headers=staff_h))

    statements = list(captured)
    assert len(statements) > 20
    indexes = _index_tables(session)
    connection = session.connection()
    for strategy in WHOLE_TABLE_STRATEGIES:
        connection.exec_driver_sql(f"SET LOCAL {strategy} = off")
    failures = []
    for statement, params in statements:
        (row,) = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).one()
        plan = (row if isinstance(row, list) else json.loads(row))[0]["Plan"]
        failures += [f"{scan}:\n{statement}" for scan in _scans(plan, indexes)]
    for strategy in WHOLE_TABLE_STRATEGIES:
        connection.exec_driver_sql(f"SET LOCAL {strategy} = on")
    assert not failures, "\n\n".join(failures)
