"""Score the constraint finder on the planted-truth scenarios (issue 13):

    .venv/bin/python -m tests.scenarios.score [--verdicts] [--held-out] [NAME ...]

Runs each scenario (the set, the held-out set with --held-out, or those named), grades its
analysis against the answer known in advance, and prints a table and the score: constraint
right (n/N), reason right (n/N), and false alarms (healthy states where something was named,
n/healthy N). A scenario that raises scores as wrong on every count, with the error as its
answer.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from tests.scenarios.constraintkit import verdicts
from tests.scenarios.planted import HELD_OUT, SCENARIOS, Planted
from tests.scenarios.plantedgrade import Grade, grade

__all__ = ["Scored", "main", "score", "table"]


@dataclass(frozen=True)
class Scored:
    """One scenario run and graded, and how long it took."""

    planted: Planted
    grade: Grade
    seconds: float
    detail: str = ""
    """Every flow's verdict, for --verdicts."""


async def score(planted: Planted) -> Scored:
    """Run `planted` in a fresh folder and grade its analysis."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"planted-{planted.name}-") as folder:
        try:
            analysis = await planted.run(Path(folder))
        except Exception as error:  # a scenario that fails scores as wrong
            wrong = Grade(False, False, (), f"error: {type(error).__name__}", str(error))
            return Scored(planted, wrong, time.monotonic() - started)
    found = grade(planted.expected, analysis)
    return Scored(planted, found, time.monotonic() - started, verdicts(analysis))


def table(results: Sequence[Scored]) -> list[str]:
    """The results as a Markdown table, then the score."""
    lines = [
        "| scenario | expected | answered | constraint | reason | false alarm | time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        found = result.grade
        lines.append(
            f"| {result.planted.name} | {result.planted.expected.text()} | {found.answer} "
            f"| {_mark(found.constraint_right)} | {_mark(found.reason_right)} "
            f"| {', '.join(found.false_alarms) or '-'} | {result.seconds:.0f} s |"
        )
    healthy = [r for r in results if r.planted.expected.healthy]
    alarms = sum(bool(r.grade.false_alarms) for r in healthy)
    lines += [
        "",
        f"constraint right: {sum(r.grade.constraint_right for r in results)}/{len(results)}; "
        f"reason right: {sum(r.grade.reason_right for r in results)}/{len(results)}; "
        f"false alarms: {alarms}/{len(healthy)} healthy",
    ]
    return lines


def _mark(right: bool) -> str:
    return "right" if right else "wrong"


async def _score_all(names: Sequence[str], *, detail: bool, held_out: bool) -> None:
    scenarios = HELD_OUT if held_out else SCENARIOS
    chosen = [p for p in (*SCENARIOS, *HELD_OUT) if p.name in names] if names else scenarios
    results = []
    for planted in chosen:
        result = await score(planted)
        results.append(result)
        print(f"{planted.name} ({planted.plants}): {result.grade.answer}", flush=True)
        print(f"  evidence: {result.grade.evidence} [{result.seconds:.1f} s]", flush=True)
        if detail and result.detail:
            print("  " + result.detail.replace("\n", "\n  "), flush=True)
    print()
    print("\n".join(table(results)))


def main() -> None:
    """The command line: score the scenarios named (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--verdicts", action="store_true", help="print every flow's verdict")
    parser.add_argument(
        "--held-out", action="store_true", help="the scenarios written after the fixes"
    )
    arguments = parser.parse_args()
    # The engine's log would bury the table; its warnings still show.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    asyncio.run(_score_all(arguments.names, detail=arguments.verdicts, held_out=arguments.held_out))


if __name__ == "__main__":
    main()
