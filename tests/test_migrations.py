"""Migrations and models agree, and upgrade/downgrade run on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.fixtures.database import create_scratch_database, drop_scratch_database
from voicebridge.db import make_engine
from voicebridge.migrate import alembic_config, downgrade, upgrade
from voicebridge.models import metadata


def test_models_match_migrations_on_postgres(postgres_admin_url: str) -> None:
    url, name = create_scratch_database(postgres_admin_url)
    try:
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )
        engine.dispose()
        assert diff == [], f"models and migrations differ: {diff}"
        command.check(alembic_config(url))
    finally:
        drop_scratch_database(postgres_admin_url, name)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_upgrade_downgrade_upgrade(backend: str, postgres_admin_url: str, tmp_path: Path) -> None:
    name = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url, name = create_scratch_database(postgres_admin_url)
    try:
        upgrade(url)
        downgrade(url, "base")
        engine = make_engine(url)
        with engine.connect() as conn:
            tables = set(engine.dialect.get_table_names(conn)) - {"alembic_version"}
        engine.dispose()
        assert tables == set()
        upgrade(url)
    finally:
        if name:
            drop_scratch_database(postgres_admin_url, name)
