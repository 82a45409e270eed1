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


_SUBSCRIBE = "-H 'content-type: application/json' \"$CRM/v1/webhooks/subscriptions\" \\\n  -d "
_HOOK = '\'{"url": "http://127.0.0.1:8100/hooks/crm"'

# Run against the sandbox by tests/docs/test_doc_runs.py, in their doc's order.
_ON_THE_SANDBOX = (
    ("docs/sandbox.md", "CRM=http://127.0.0.1:8101;"),
    ("docs/sandbox.md", f'curl -H "$AUTH" {_SUBSCRIBE}\'{{"url": "http://127.0.0.1:8000'),
    ("docs/sandbox.md", f'curl -H "$AUTH" {_SUBSCRIBE}{_HOOK}'),
    ("docs/sandbox.md", 'curl -X POST "$CRM/_sandbox/contacts/touch"'),
    ("docs/sandbox.md", "EMAIL=http://127.0.0.1:8102;"),
    ("docs/sandbox.md", "PROJECT=http://127.0.0.1:8103;"),
    ("docs/sandbox.md", 'curl "$CRM/_sandbox/faults"'),
    ("docs/sandbox.md", 'curl "$CRM/_sandbox/stats"'),
    ("docs/tutorial.md", "CRM=http://127.0.0.1:8101;"),
    ("docs/tutorial.md", "curl -s -H \"$KEY\" -H 'content-type: application/json'"),
    ("docs/tutorial.md", 'curl -s -X POST "$CRM/_sandbox/faults" -d "{\\"outages'),
    ("docs/tutorial.md", f'curl -s -H "$AUTH" {_SUBSCRIBE}{_HOOK}}}\''),
    ("docs/tutorial.md", f'curl -s -H "$AUTH" {_SUBSCRIBE}{_HOOK}, "secret"'),
    ("docs/tutorial.md", 'curl -s -X POST "$CRM/_sandbox/faults" -d \'{"error_rate"'),
)

# Section 7 of the tutorial, run as typed and its output compared by tests/test_init.py.
_TUTORIAL_7 = (
    (
        "docs/tutorial.md",
        "psql -h 127.0.0.1 -U postgres test <<'SQL'\nCREATE SCHEMA IF NOT EXISTS shop;",
    ),
    ("docs/tutorial.md", "flows proposed\n"),
    ("docs/tutorial.md", "-- flow orders: table orders in test_shop_copy"),
    ("docs/tutorial.md", ".venv/bin/syncwell run -w mine/syncwell.yaml --once"),
)

# What `syncwell check` says, quoted: compared by tests/docs/test_doc_warnings.py.
_WARNINGS = (
    ("docs/workspace.md", "warning flows.tasks: deletes in"),
    ("docs/workspace.md", "warning flows.tasks_out: writes 'UpdatedAt'"),
    ("docs/workspace.md", "syncwell.yaml:12: [workflows.w[2]]"),
    ("docs/first-sync.md", "warning flows.issues_out: its first sync"),
    ("docs/webhooks.md", "warning systems.crm.webhooks:"),
)

# Section 6 of the tutorial, run as typed by tests/docs/test_doc_runs.py.
_TUTORIAL_6 = (
    (
        "docs/tutorial.md",
        "psql -h 127.0.0.1 -U postgres test <<'SQL'\nCREATE SCHEMA IF NOT EXISTS tour;",
    ),
    ("docs/tutorial.md", 'psql -h 127.0.0.1 -U postgres test -c "UPDATE tour.leads'),
)

# Blocks a test checks as a whole: it runs them, or compares them with what the command
# prints. (doc, how the block starts) -> the test that does.
ELSEWHERE: dict[tuple[str, str], str] = {
    ("docs/workspace.md", "syncwell.yaml:16: [systems.crm.kind]"): "test_workspace_error_sample",
    ("README.md", "$ syncwell check\n"): "test_readme_check_output",
    ("docs/tutorial.md", "workspace demo ("): "test_tutorial_check_of_the_demo",
    ("docs/tutorial.md", "invalid workspace\n"): "test_tutorial_check_of_the_demo",
    ("README.md", "$ export CRM_WEBHOOK_SECRET="): "test_readme_check_output",
    **dict.fromkeys(
        (
            ("README.md", "$ syncwell constraint\nconstraint: projects"),
            ("docs/constraint.md", "$ syncwell constraint\nconstraint: projects"),
            ("docs/constraint.md", "$ syncwell constraint --what-if tasks.interval=10m\n"),
        ),
        "tests/test_cli.py::test_the_docs_show_what_syncwell_constraint_prints_after_the_demo",
    ),
    ("docs/measurements.md", "TOKEN=$(syncwell token create"): "test_metrics_snippet_under_serve",
    ("docs/api.md", "$ TOKEN=$(syncwell token create"): "test_api_token_snippet_under_serve",
    ("docs/connectors/webhook_out.md", "POST /syncwell HTTP/1.1"): (
        "tests/connectors/test_webhook_out.py::test_the_documented_request_is_what_the_connector_sends"
    ),
    **dict.fromkeys(_ON_THE_SANDBOX, "test_sandbox_snippets"),
    **dict.fromkeys(_TUTORIAL_6, "test_tutorial_section_6"),
    **dict.fromkeys(_WARNINGS, "tests/docs/test_doc_warnings.py"),
    **dict.fromkeys(
        _TUTORIAL_7, "tests/test_init.py::test_the_tutorial_start_on_your_own_data_runs_as_written"
    ),
}


def checked_elsewhere(block: Block) -> str | None:
    """The test that covers `block` as a whole, if one does."""
    for (doc, starts), test in ELSEWHERE.items():
        if block.doc == doc and block.text.startswith(starts):
            return test
    return None
