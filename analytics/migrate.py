"""Versioned schema migrations: `migrations/NNNN_name.sql`, applied in order, each recorded in
`schema_migrations` so a restart applies only what is new. Statements are written `IF NOT EXISTS`,
so two processes migrating at once (or a crash between a statement and its record) stay harmless.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


class Executor(Protocol):
    """The two calls migrations need; both analytics clients provide them."""

    def command(self, sql: str) -> None: ...

    def query_rows(self, sql: str) -> list[tuple[object, ...]]: ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def statements(self) -> list[str]:
        """The file's statements; `;` ends one only at the end of a line, comments are dropped."""
        text = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [part.strip() for part in re.split(r";\s*$", text, flags=re.MULTILINE) if part.strip()]


def available() -> list[Migration]:
    found = []
    for entry in resources.files("analytics.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def migrate(db: Executor) -> list[int]:
    """Apply the migrations not yet recorded; returns the versions applied now."""
    db.command(SCHEMA_MIGRATIONS)
    done = {int(str(row[0])) for row in db.query_rows("SELECT version FROM schema_migrations")}
    applied = []
    for migration in available():
        if migration.version in done:
            continue
        for statement in migration.statements:
            db.command(statement)
        db.command(
            f"INSERT INTO schema_migrations (version, name) VALUES ({migration.version}, '{migration.name}')"
        )
        log.info("applied analytics migration %04d_%s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
