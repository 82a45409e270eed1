"""PostgreSQL's text COPY format: a record per line, fields split by tabs, NULL as ``\\N``.

Database-to-database flows between PostgreSQL systems move pages in this format untouched
(read with ``COPY (SELECT ...) TO STDOUT``, written with ``COPY ... FROM STDIN``), so no
Python object is made per value on the hot path. Only a record someone must look at (a dead
letter) or whose position a read needs (a page's last line) is parsed, here. Written by hand:
asyncpg and psycopg parse this format only inside their own COPY machinery.

Format reference: https://www.postgresql.org/docs/current/sql-copy.html (Text Format).
"""

from __future__ import annotations

import re

__all__ = ["join_lines", "line_count", "parse_line", "split_lines"]

_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)")
_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if code[:1] == b"x":
        return bytes([int(code[1:], 16)])
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    return _SIMPLE.get(code, code)


def parse_line(line: bytes) -> tuple[str | None, ...]:
    """One record's fields as text (None for NULL), exactly as PostgreSQL printed them."""
    return tuple(
        None if field == b"\\N" else _ESCAPE.sub(_unescape, field).decode()
        for field in line.split(b"\t")
    )


def split_lines(data: bytes) -> list[bytes]:
    """The records of a COPY payload, one line each (newlines inside values are escaped)."""
    return data.split(b"\n")[:-1] if data else []


def join_lines(lines: list[bytes]) -> bytes:
    """A COPY payload of these records."""
    return b"".join(line + b"\n" for line in lines)


def line_count(data: bytes) -> int:
    """How many records a COPY payload holds."""
    return data.count(b"\n")
