"""The databases `syncwell init` is given, as DSNs: where they are and how the file names them.

`postgresql://user@host:5432/db` (or `postgres://`) is PostgreSQL; `sqlite:///relative.db`,
`sqlite:////absolute.db` or a path to a `.db`/`.sqlite`/`.sqlite3` file is SQLite. A password
in a DSN is used to connect but never written: the file gets `${NAME_PASSWORD}` instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from syncwell.errors import SyncwellError
from syncwell.workspace.init_proposal import flow_name
from syncwell.workspace.init_yaml import SystemDraft

__all__ = ["Database", "DsnError", "parse_dsn"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_FORMS = (
    "write postgresql://user@host:5432/database, sqlite:///relative/file.db or "
    "sqlite:////absolute/file.db"
)


class DsnError(SyncwellError):
    """A DSN that names no database syncwell can read: the message says what to write."""


@dataclass(frozen=True, slots=True)
class Database:
    """A database given to `syncwell init`.

    Attributes:
        kind: `postgres` or `sqlite`.
        connect: what to connect with: the whole DSN (password included), or the file's path.
        schema: the PostgreSQL schema; empty for SQLite.
        draft: the system as the workspace file writes it.
        secret: the variable the file reads the password from, when the DSN had one.
    """

    kind: str
    connect: str
    schema: str
    draft: SystemDraft
    secret: str | None = None

    def same_place(self, other: Database) -> bool:
        """Whether both name the same tables: flows between them would read what they write."""
        return (self.kind, self.connect, self.schema) == (other.kind, other.connect, other.schema)


def parse_dsn(dsn: str, *, schema: str, folder: Path, role: str, name: str = "") -> Database:
    """`dsn` as a `Database`; paths in the file are relative to `folder` (the workspace's).

    Args:
        dsn: what the user gave.
        schema: the PostgreSQL schema to use (ignored for SQLite).
        folder: the folder the workspace file is written in.
        role: `source` or `destination`, for the system's comment.
        name: the system's name; default: the database's (and schema's) name.
    """
    parts = urlsplit(dsn)
    if parts.scheme in {"postgresql", "postgres"}:
        return _postgres(dsn, schema, role, name)
    if parts.scheme == "sqlite":
        if not parts.path.startswith("/") or parts.netloc:
            raise DsnError(f"cannot read the SQLite DSN {dsn!r}: {_FORMS}")
        return _sqlite(Path(parts.path[1:]), folder, role, name)
    if not parts.scheme and dsn.lower().endswith(_SQLITE_SUFFIXES):
        return _sqlite(Path(dsn), folder, role, name)
    raise DsnError(f"cannot tell which database {dsn!r} is: {_FORMS}")


def _postgres(dsn: str, schema: str, role: str, name: str) -> Database:
    parts = urlsplit(dsn)
    database = parts.path.lstrip("/") or parts.username or "postgres"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", schema):
        raise DsnError(f"schema {schema!r} is not a plain identifier: letters, digits and _")
    name = name or flow_name(database if schema == "public" else f"{database}_{schema}")
    secret = None
    written = dsn
    if parts.password is not None:
        secret = f"{re.sub(r'[^A-Z0-9_]', '_', name.upper())}_PASSWORD"
        host = parts.netloc.rsplit("@", 1)[1]
        netloc = f"{parts.username}:${{{secret}}}@{host}"
        written = urlunsplit(parts._replace(netloc=netloc))
    settings = {"dsn": written}
    if schema != "public":
        settings["schema"] = schema
    where = f"PostgreSQL database {database}, schema {schema}"
    draft = SystemDraft(name, "postgres", settings, _role_comment(role, where))
    return Database("postgres", dsn, schema, draft, secret)


def _sqlite(path: Path, folder: Path, role: str, name: str) -> Database:
    absolute = path.expanduser().resolve()
    try:
        written = os.path.relpath(absolute, folder.resolve())
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        written = str(absolute)
    draft = SystemDraft(
        name or flow_name(absolute.stem),
        "sqlite",
        {"path": written},
        _role_comment(role, f"SQLite file {absolute.name}; the path is relative to this file"),
    )
    return Database("sqlite", str(absolute), "", draft)


def _role_comment(role: str, where: str) -> str:
    what = "where records come from" if role == "source" else "where they go"
    return f"{what}: the {where}. Rename it freely (the flows name it)."
