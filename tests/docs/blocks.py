"""The fenced code blocks of README.md and docs/, with the marks their info strings carry.

A fence's info string is its language, then words of ours that GitHub ignores (it renders the
first word only): ```` ```yaml illustrative ```` is YAML, shown but not checked, on purpose.
markdown-it-py (already installed, a dependency of rich) finds the fences the way a
CommonMark renderer does, so a fence inside a list or after an indented line is not missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).parents[2]
ILLUSTRATIVE = "illustrative"
HOW_TO_MARK = (
    "mark it as shown on purpose and not checked: put `illustrative` after the language on "
    "its fence (```yaml illustrative), or make it checkable (see the docstring of "
    "tests/docs/test_snippets.py)"
)


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its marks and its text."""

    doc: str  # path from the repository's root
    line: int  # the fence's line, counted from 1
    lang: str
    marks: frozenset[str]
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def illustrative(self) -> bool:
        return ILLUSTRATIVE in self.marks


def documents() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@cache
def all_blocks() -> tuple[Block, ...]:
    """Every fenced block of every document, in reading order."""
    parser = MarkdownIt("commonmark")
    found: list[Block] = []
    for path in documents():
        for token in parser.parse(path.read_text(encoding="utf-8")):
            if token.type != "fence" or token.map is None:
                continue
            lang, *marks = token.info.split() or [""]
            found.append(
                Block(
                    doc=path.relative_to(ROOT).as_posix(),
                    line=token.map[0] + 1,
                    lang=lang,
                    marks=frozenset(marks),
                    text=token.content,
                )
            )
    return tuple(found)


def blocks_of(doc: str, lang: str | None = None) -> list[Block]:
    """The blocks of one document (optionally of one language), in order."""
    return [b for b in all_blocks() if b.doc == doc and (lang is None or b.lang == lang)]


def find_block(doc: str, starts: str) -> Block:
    """The one block of `doc` whose text starts with `starts` (a test that looks for a
    sample fails here, by name, when the doc moved it or changed it)."""
    matches = [b for b in blocks_of(doc) if b.text.startswith(starts)]
    assert len(matches) == 1, f"{doc}: {len(matches)} blocks start with {starts!r}, not 1"
    return matches[0]


# Blocks another test of tests/docs/ checks as a whole: it runs them, or compares them with
# what the command prints. (doc, how the block starts) -> the test that does.
ELSEWHERE: dict[tuple[str, str], str] = {
    ("docs/workspace.md", "syncwell.yaml:16: [systems.crm.kind]"): "test_workspace_error_sample",
    ("README.md", "$ syncwell check\n"): "test_readme_check_output",
    ("README.md", "$ export CRM_WEBHOOK_SECRET="): "test_readme_check_output",
    ("docs/measurements.md", "TOKEN=$(syncwell token create"): "test_metrics_snippet_under_serve",
    ("docs/api.md", "$ TOKEN=$(syncwell token create"): "test_api_token_snippet_under_serve",
}


def checked_elsewhere(block: Block) -> str | None:
    """The test that covers `block` as a whole, if one does."""
    for (doc, starts), test in ELSEWHERE.items():
        if block.doc == doc and block.text.startswith(starts):
            return test
    return None
