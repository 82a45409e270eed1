"""Whether a listing of an http stream is whole: the one test a key scan and a read without a
cursor both pass before anything they did not see is taken for deleted (DESIGN.md: never apply
"missing means deleted" after an incomplete read)."""

from __future__ import annotations

from syncwell.connectors.http.endpoints import ReadEndpoint
from syncwell.connectors.http.records import dig
from syncwell.errors import IntegrationFatalError

__all__ = ["check_whole", "ignored_page", "total_of"]


def total_of(body: object, endpoint: ReadEndpoint) -> int | None:
    """The record count the answer states at the stream's `total` path, if any."""
    found = dig(body, endpoint.total) if endpoint.total else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def ignored_page(what: str, system: str) -> IntegrationFatalError:
    """The error for a page of `what` ("the key scan of 'tasks'") an error rule ignored."""
    return IntegrationFatalError(
        f"a page of {what} was answered with an error a rule says to ignore, so it is not "
        "whole and nothing is taken for gone (what a whole listing does not hold is deleted). "
        "Fix the rule or the API's answer",
        system=system,
    )


def check_whole(
    what: str, endpoint: ReadEndpoint, listed: int, total: int | None, system: str
) -> None:
    """Fail `what` when its records do not add up to the API's `total`."""
    if total is not None and listed != total:
        raise IntegrationFatalError(
            f"{what} listed {listed:,} records where the API's `{endpoint.total}` says "
            f"{total:,}: it is not whole (a page cap, or records moving between pages while "
            "it read), so nothing is taken for gone; it is tried again",
            system=system,
        )
