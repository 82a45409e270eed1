"""The SVG map, its layout, and `syncwell map --format svg`."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.connectors.sqlite.settings import Settings as SqliteSettings
from syncwell.map import build_graph, render_dot, render_map, render_svg
from syncwell.map.labels import flow_lines
from syncwell.map.layout import Box, Size, layout
from syncwell.workspace import Flow, System, Workflow, Workspace
from tests.map.conftest import TEXT

SVG = "{http://www.w3.org/2000/svg}"
ORANGE = "#f57c00"
runner = CliRunner()


def _parse(text: str) -> ET.Element:
    root = ET.fromstring(text.encode())
    assert root.tag == f"{SVG}svg"
    return root


def _group(root: ET.Element, kind: str, name: str) -> ET.Element:
    """The ``<g class="flow">`` or ``<g class="system">`` whose title names `name`."""
    found = [
        g
        for g in root.iter(f"{SVG}g")
        if kind in g.get("class", "").split()
        and (g.findtext(f"{SVG}title") or "").startswith(f"{name}: ")
    ]
    assert len(found) == 1, name
    return found[0]


def _stroke(root: ET.Element, flow: str) -> str:
    path = _group(root, "flow", flow).find(f"{SVG}path")
    assert path is not None
    return path.get("stroke", "")


def _texts(element: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in element.iter(f"{SVG}text")]


def _awkward() -> Workspace:
    """Names the loader refuses but code may build: markup, ampersands, quotes."""
    names = ['my "crm" <tool>', "a&b", "it's"]
    systems = {
        name: System(name=name, settings=SqliteSettings(kind="sqlite", path=f"/s{i}.db"))
        for i, name in enumerate(names)
    }
    base = {"stream": "t", "key": "id", "cursor": "u"}
    flows = {
        name: Flow.model_validate({"name": name, "source": s, "destination": d, **base})
        for name, s, d in [('<deals> & "co"', names[0], "a&b"), ("]]>", "a&b", "it's")]
    }
    workflow = Workflow(name="w<1>", description='say "hi"\nthen go', flows=tuple(flows))
    return Workspace(
        name="odd <&> \"name\"", path=Path("/w/syncwell.yaml"), root=Path("/w"),
        state="sqlite:////w/s.db", core="a&b", systems=systems, flows=flows,
        workflows={workflow.name: workflow},
    )  # fmt: skip


def test_the_svg_is_a_well_formed_svg_1_1_document(workspace: Workspace) -> None:
    """The output parses as XML and is an SVG 1.1 root with its size and a matching viewBox."""
    root = _parse(render_svg(workspace))
    assert root.get("version") == "1.1"
    width, height = root.get("width"), root.get("height")
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert float(width or 0) > 0 and float(height or 0) > 0
    assert root.findtext(f"{SVG}title") == "syncwell map of demo"


def test_every_system_and_flow_is_drawn_with_its_label(workspace: Workspace) -> None:
    """Each system is a box with its kind, each flow an arrow with the three lines of its label."""
    root = _parse(render_svg(workspace))
    for name, system in workspace.systems.items():
        box = _group(root, "system", name)
        assert box.find(f"{SVG}rect") is not None
        assert _texts(box)[0] == name and _texts(box)[1].startswith(system.kind)
    for name, flow in workspace.flows.items():
        group = _group(root, "flow", name)
        assert group.find(f"{SVG}path") is not None
        assert _texts(group) == list(flow_lines(flow))


def test_the_core_system_has_a_double_border(workspace: Workspace) -> None:
    """The core's box is two nested rectangles and says ``core``; other boxes have one."""
    root = _parse(render_svg(workspace))
    core = _group(root, "system", "app")
    assert "core" in core.get("class", "").split()
    assert len(core.findall(f"{SVG}rect")) == 2 and _texts(core)[1] == "postgres · core"
    assert len(_group(root, "system", "crm").findall(f"{SVG}rect")) == 1


def test_awkward_names_are_escaped_and_read_back_as_written() -> None:
    """Names with ``<``, ``&``, quotes or ``]]>`` are escaped: the SVG parses, names survive."""
    workspace = _awkward()
    text = render_svg(workspace, highlight='<deals> & "co"')
    assert "<tool>" not in text and "<deals>" not in text
    root = _parse(text)
    everything = _texts(root)
    for name in [*workspace.systems, *workspace.flows]:
        assert name in everything
    assert any('odd <&> "name"' in line for line in everything)
    assert any('w<1>: <deals> & "co" → ]]> — say "hi" then go' in line for line in everything)
    assert _stroke(root, '<deals> & "co"') == ORANGE


def test_only_the_highlighted_flow_is_orange_and_tagged(workspace: Workspace) -> None:
    """The highlighted flow's arrow is orange, thicker and tagged ``constraint``; no other is."""
    root = _parse(render_svg(workspace, highlight="deals", health={"deals": "breach"}))
    deals = _group(root, "flow", "deals")
    assert _stroke(root, "deals") == ORANGE
    assert "constraint" in _texts(deals)
    for name in ("contacts", "invoices", "leads"):
        assert _stroke(root, name) != ORANGE
        assert "constraint" not in _texts(_group(root, "flow", name))
    assert not any("constraint" in _texts(_group(root, "system", s)) for s in ("app", "crm"))


def test_a_highlighted_system_is_outlined_orange_and_tagged(workspace: Workspace) -> None:
    """A highlighted system's box is outlined orange and tagged; every arrow keeps its colour."""
    root = _parse(render_svg(workspace, highlight="crm"))
    crm = _group(root, "system", "crm")
    rect = crm.find(f"{SVG}rect")
    assert rect is not None and rect.get("stroke") == ORANGE
    assert "constraint" in _texts(crm)
    assert all(_stroke(root, name) != ORANGE for name in workspace.flows)


def test_a_highlight_that_names_nothing_is_ignored(workspace: Workspace) -> None:
    """A name that is neither a flow nor a system draws the same map as no highlight."""
    assert render_svg(workspace, highlight="nope") == render_svg(workspace)


def test_health_colours_the_arrows_with_the_dot_palette(workspace: Workspace) -> None:
    """Breach is red, ok green, the rest grey: the very colours the dot rendering uses."""
    health = {"contacts": "breach", "deals": "ok"}
    root = _parse(render_svg(workspace, health=health))
    dot = render_dot(workspace, health=health)
    assert _stroke(root, "contacts") == "#c62828"
    assert _stroke(root, "deals") == "#2e7d32"
    assert _stroke(root, "leads") == _stroke(root, "invoices") == "#9e9e9e"
    for name in ("contacts", "deals", "leads"):
        assert f'color="{_stroke(root, name)}"' in next(
            line for line in dot.splitlines() if f'id="flow:{name}"' in line
        )


def test_a_manual_flow_is_dashed_and_done_by_hand(workspace: Workspace) -> None:
    """Only the manual flow's arrow is dashed, and its label says it is done by hand."""
    root = _parse(render_svg(workspace))
    for name, flow in workspace.flows.items():
        path = _group(root, "flow", name).find(f"{SVG}path")
        assert path is not None
        assert (path.get("stroke-dasharray") is not None) is (name == "invoices"), flow.mode
    assert "manual, done by hand" in _texts(_group(root, "flow", "invoices"))


def test_flows_between_the_same_systems_take_different_paths(workspace: Workspace) -> None:
    """Opposite flows (deals, invoices) and parallel ones (contacts, leads) never share a line."""
    root = _parse(render_svg(workspace))
    paths = {}
    for name in workspace.flows:
        path = _group(root, "flow", name).find(f"{SVG}path")
        assert path is not None
        paths[name] = path.get("d")
    assert paths["deals"] != paths["invoices"]
    assert paths["contacts"] != paths["leads"]
    assert len(set(paths.values())) == len(paths)


def test_no_box_or_label_overlaps_another(workspace: Workspace) -> None:
    """In the layout, system boxes and flow labels never overlap, even for flows sharing systems."""
    plan = layout(
        build_graph(workspace),
        {name: Size(120, 58) for name in workspace.systems},
        {name: Size(150, 44) for name in workspace.flows},
        list(workspace.flows),
    )
    boxes = [*plan.systems.values(), *(route.label for route in plan.routes.values())]
    assert len(boxes) == 7
    for one, other in combinations(boxes, 2):
        assert not _overlap(one, other), (one, other)
    assert plan.systems["crm"].x < plan.systems["app"].x < plan.systems["sheet"].x


def _overlap(one: Box, other: Box) -> bool:
    return (
        one.x < other.x + other.width
        and other.x < one.x + one.width
        and one.y < other.y + other.height
        and other.y < one.y + one.height
    )


def test_the_workflows_are_listed(workspace: Workspace) -> None:
    """Each workflow is a line naming its chain of flows and its description, as in the dot note."""
    lines = _texts(_parse(render_svg(workspace)))
    assert "lead_to_core: contacts → deals" in lines
    assert "billing: deals → invoices — Month end" in lines


def test_the_same_workspace_gives_the_same_bytes(tmp_path: Path) -> None:
    """Two processes with different hash seeds draw the same workspace byte for byte."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(TEXT)
    script = (
        "import sys; from syncwell.map import render_svg; "
        "from syncwell.workspace import load_workspace; "
        "sys.stdout.write(render_svg(load_workspace(sys.argv[1]), highlight='deals'))"
    )
    drawings = [
        subprocess.run(
            [sys.executable, "-c", script, str(path)],
            capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]  # fmt: skip
    assert drawings[0] == drawings[1]
    _parse(drawings[0])


def test_render_map_draws_svg(workspace: Workspace) -> None:
    """`render_map(..., "svg")` is `render_svg`, highlight and health passed on."""
    health = {"leads": "ok"}
    assert render_map(workspace, "svg", highlight="crm", health=health) == render_svg(
        workspace, highlight="crm", health=health
    )


def test_map_command_prints_the_svg(tmp_path: Path) -> None:
    """`syncwell map --format svg` prints a parseable SVG with every system in it."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(TEXT)
    result = runner.invoke(app, ["map", "-w", str(path), "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    assert {"app", "crm", "sheet"} <= set(_texts(_parse(result.output)))


def test_map_command_writes_to_the_output_file(tmp_path: Path) -> None:
    """With ``--output`` the map goes to the file, UTF-8, and nothing is printed."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(TEXT)
    target = tmp_path / "map.svg"
    result = runner.invoke(app, ["map", "-w", str(path), "-f", "svg", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert target.read_text(encoding="utf-8").endswith("</svg>\n")
    _parse(target.read_text(encoding="utf-8"))
