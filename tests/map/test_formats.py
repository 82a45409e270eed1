"""The mermaid, dot and JSON maps, and `syncwell map` that prints them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.connectors.sqlite.settings import Settings as SqliteSettings
from syncwell.map import map_document, render_dot, render_json, render_mermaid
from syncwell.workspace import Flow, System, Workflow, Workspace, load_workspace

runner = CliRunner()

DEMO = textwrap.dedent(
    """
    name: demo
    core: app
    systems:
      app: {kind: sqlite, path: app.db}
      crm: {kind: sqlite, path: crm.db}
      sheet: {kind: sqlite, path: sheet.db}
    flows:
      contacts: {source: crm, destination: app, stream: contacts, key: id, cursor: u,
                 mode: realtime, interval: 1m, slo: {freshness: 30s, success_rate: 0.995}}
      deals: {source: app, destination: sheet, stream: deals, key: id, cursor: u, interval: 4h}
      invoices: {source: sheet, destination: app, stream: inv, key: id, mode: manual}
    workflows:
      lead_to_core: {description: A lead becomes a customer, flows: [contacts, deals]}
    """
)
EDGE = re.compile(r"^  (\w+) (-->|-\.->)\|\"([^\"]*)\"\| (\w+)$")


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    path = tmp_path / "syncwell.yaml"
    path.write_text(DEMO)
    return path


@pytest.fixture
def demo(demo_file: Path) -> Workspace:
    return load_workspace(demo_file)


def _awkward() -> Workspace:
    """Names the loader refuses but code may build: quotes, spaces, backslashes, mermaid words."""
    names = ['my "crm" <tool>', "end", "back\\slash", "a b"]
    systems = {
        name: System(name=name, settings=SqliteSettings(kind="sqlite", path=f"/s{i}.db"))
        for i, name in enumerate(names)
    }
    base = {"stream": "t", "key": "id", "cursor": "u"}
    flows = {
        'deals #1 | "big"': Flow.model_validate(
            {"name": 'deals #1 | "big"', "source": names[0], "destination": "end", **base}
        ),
        "x\\y": Flow.model_validate(
            {"name": "x\\y", "source": "back\\slash", "destination": "a b", **base}
        ),
    }
    workflow = Workflow(name="w {1}", description='say "hi"\nthen go', flows=('deals #1 | "big"',))
    return Workspace(
        name='odd "name"\\', path=Path("/w/syncwell.yaml"), root=Path("/w"),
        state="sqlite:////w/s.db", core="end", systems=systems, flows=flows,
        workflows={workflow.name: workflow},
    )  # fmt: skip


def _edges(mermaid: str) -> list[tuple[str, ...]]:
    """The mermaid edge lines as (source id, arrow, label, destination id)."""
    return [m.groups() for line in mermaid.splitlines() if (m := EDGE.match(line))]


def test_mermaid_draws_one_edge_per_flow_dashed_when_manual(demo: Workspace) -> None:
    """A flowchart with one labelled edge per flow, the manual one dotted, the core marked."""
    text = render_mermaid(demo)
    assert text.startswith("flowchart LR\n")
    edges = _edges(text)
    assert [(s, arrow, d) for s, arrow, _, d in edges] == [
        ("sys_crm", "-->", "sys_app"),
        ("sys_app", "-->", "sys_sheet"),
        ("sys_sheet", "-.->", "sys_app"),
    ]
    assert edges[0][2] == "contacts<br/>realtime, reconciled every 1m<br/>SLO fresh ≤ 30s, ≥99.5%"
    assert edges[1][2].startswith("deals<br/>poll every 4h<br/>")
    assert "manual" in edges[2][2]
    assert '  sys_app[["app<br/>sqlite · core"]]' in text
    assert "  class sys_app core" in text
    assert "  %% workflow lead_to_core: contacts → deals — A lead becomes a customer" in text


def test_mermaid_escapes_awkward_names() -> None:
    """Node ids are safe identifiers and labels hold no raw quote, whatever the names."""
    text = render_mermaid(_awkward())
    edges = _edges(text)
    assert len(edges) == 2
    for source, _, label, destination in edges:
        assert re.fullmatch(r"sys_\w+", source) and re.fullmatch(r"sys_\w+", destination)
        assert '"' not in label
    assert edges[0][0] == "sys_my__crm___tool_" and edges[0][3] == "sys_end"
    assert edges[0][2].startswith("deals #35;1 | #34;big#34;<br/>")
    assert '["my #34;crm#34; #60;tool#62;<br/>sqlite"]' in text
    assert '  %% workflow w {1}: deals #1 | "big" — say "hi" then go' in text.splitlines()
    assert all(line.startswith("  ") for line in text.splitlines()[1:])  # no line broken


def test_mermaid_colours_by_health_and_emphasises_the_highlight(demo: Workspace) -> None:
    """Health picks each edge's colour; the highlighted flow is thicker, a system gets a class."""
    plain = render_mermaid(demo)
    text = render_mermaid(demo, highlight="deals", health={"contacts": "breach", "deals": "ok"})
    assert text != plain
    assert "  linkStyle 0 stroke:#c62828" in text
    assert "  linkStyle 1 stroke:#2e7d32,stroke-width:4px" in text
    assert "  linkStyle 2 stroke:#9e9e9e" in text
    assert "  class sys_crm highlight" in render_mermaid(demo, highlight="crm")


def test_dot_draws_systems_and_flows(demo: Workspace) -> None:
    """A digraph with the core doubled, one edge per flow, the manual one dashed, a legend."""
    text = render_dot(demo)
    lines = text.splitlines()
    assert lines[0] == 'digraph "demo" {' and lines[-1] == "}"
    edges = [line for line in lines if " -> " in line]
    assert len(edges) == 3
    assert edges[0].startswith('  "crm" -> "app" [id="flow:contacts", label="contacts\\nrealtime')
    assert 'workflows="lead_to_core"' in edges[0]
    assert 'style="dashed"' in edges[2] and "dashed" not in edges[0] + edges[1]
    assert '  "app" [label="app\\nsqlite · core", peripheries=2];' in lines
    assert "lead_to_core: contacts → deals — A lead becomes a customer\\l" in text


def test_dot_escapes_awkward_names() -> None:
    """Quotes and backslashes in names are escaped, so every quoted string closes where meant."""
    text = render_dot(_awkward())
    assert text.startswith('digraph "odd \\"name\\"\\\\" {')
    assert '  "back\\\\slash" -> "a b" [id="flow:x\\\\y"' in text
    assert '"my \\"crm\\" <tool>" -> "end"' in text
    assert 'say \\"hi\\"\\nthen go' in text
    for line in text.splitlines():
        unescaped = re.sub(r"\\.", "", line)
        assert unescaped.count('"') % 2 == 0, line


def test_dot_colours_by_health_and_emphasises_the_highlight(demo: Workspace) -> None:
    """Health sets the edge colour; the highlight is bold, a highlighted system is outlined."""
    text = render_dot(demo, highlight="invoices", health={"deals": "breach"})
    edges = [line for line in text.splitlines() if " -> " in line]
    assert 'color="#c62828"' in edges[1] and 'color="#9e9e9e"' in edges[0]
    assert 'style="dashed,bold"' in edges[2] and "penwidth=3" in edges[2]
    assert 'color="#f57c00", penwidth=3' in render_dot(demo, highlight="sheet")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("awkward", [False, True])
def test_graphviz_reads_the_dot_output(demo: Workspace, awkward: bool) -> None:
    """Graphviz itself accepts the output, awkward names included."""
    text = render_dot(_awkward() if awkward else demo, highlight="deals")
    done = subprocess.run(
        [shutil.which("dot") or "dot", "-Tsvg"], input=text, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout


def test_json_has_the_documented_shape(demo: Workspace) -> None:
    """The JSON round-trips and carries exactly the keys docs/map.md lists."""
    document = json.loads(render_json(demo))
    assert document == map_document(demo)
    assert set(document) == {"workspace", "core", "systems", "flows", "workflows"}
    assert document["workspace"] == "demo" and document["core"] == "app"
    assert document["systems"][0] == {
        "name": "app", "kind": "sqlite", "core": True, "highlighted": False
    }  # fmt: skip
    contacts, deals, invoices = document["flows"]
    assert contacts == {
        "name": "contacts", "source": "crm", "destination": "app", "mode": "realtime",
        "interval_s": 60.0, "slo": {"freshness_s": 30.0, "success_rate": 0.995},
        "manual": False, "integration": "crm", "health": "unknown", "highlighted": False,
    }  # fmt: skip
    assert deals["interval_s"] == 14400.0 and deals["integration"] == "sheet"
    assert invoices["manual"] is True and invoices["interval_s"] is None
    assert document["workflows"] == [
        {"name": "lead_to_core", "description": "A lead becomes a customer",
         "flows": ["contacts", "deals"]}
    ]  # fmt: skip


def test_json_marks_health_and_highlight(demo: Workspace) -> None:
    """Health and the highlight show on the flows and systems they name, and nowhere else."""
    document = map_document(demo, highlight="crm", health={"deals": "breach", "nope": "ok"})
    assert [flow["health"] for flow in document["flows"]] == ["unknown", "breach", "unknown"]
    assert [s["highlighted"] for s in document["systems"]] == [False, True, False]
    assert not any(flow["highlighted"] for flow in document["flows"])


def test_json_keeps_awkward_names_as_they_are() -> None:
    """JSON needs no escaping by us: the names come back unchanged."""
    workspace = _awkward()
    document = json.loads(render_json(workspace))
    assert document["workspace"] == workspace.name
    assert [flow["name"] for flow in document["flows"]] == list(workspace.flows)


@pytest.mark.parametrize(
    ("fmt", "start"),
    [("text", "workspace demo"), ("mermaid", "flowchart LR"), ("dot", 'digraph "demo"'),
     ("json", "{")],
)  # fmt: skip
def test_map_command_prints_each_format(demo_file: Path, fmt: str, start: str) -> None:
    """`syncwell map --format F` exits 0 and prints that rendering, unwrapped and unstyled."""
    result = runner.invoke(app, ["map", "-w", str(demo_file), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(start)
    if fmt == "json":
        assert json.loads(result.output) == map_document(load_workspace(demo_file))
    if fmt == "mermaid":
        assert len(_edges(result.output)) == 3


def test_map_command_defaults_to_text(demo_file: Path) -> None:
    """Without --format the map is the text one `check` prints."""
    result = runner.invoke(app, ["map", "-w", str(demo_file)])
    assert result.exit_code == 0, result.output
    assert "sheet ──invoices (manual: done by hand)──▶ app" in result.output


def test_map_command_exits_2_on_a_bad_workspace(tmp_path: Path) -> None:
    """A workspace with a mistake is reported with its line, exit 2, and nothing is drawn."""
    path = tmp_path / "syncwell.yaml"
    path.write_text("systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: postgress}\n")
    result = runner.invoke(app, ["map", "-w", str(path), "--format", "mermaid"])
    assert result.exit_code == 2
    assert "flowchart" not in result.output
    assert f"{path}:3" in result.output.replace("\n", "")


def test_map_command_refuses_an_unknown_format(demo_file: Path) -> None:
    """An unknown format is a usage error (exit 2)."""
    result = runner.invoke(app, ["map", "-w", str(demo_file), "--format", "png"])
    assert result.exit_code == 2
