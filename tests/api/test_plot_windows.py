"""An integration's page as a new user sees it a few minutes into a run (issue 15 point 6):
the plots open on the window since the first measurement, each flow's SLO is drawn as its
own line, the backlog has a plot, and a short incident stays a visible mark on the timelines.
Pages are fetched over HTTP from the app, reading a real store."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.api.dashboard.timeline import MIN_BAR_PX, incident_timeline
from syncwell.api.dashboard.windows import MIN_FITTED_S, fitted
from syncwell.measure import FlowMinute
from syncwell.store import Incident, Store, open_store
from syncwell.workspace import Workspace

NS = "{http://www.w3.org/2000/svg}"
MINUTES = 5
"""How long the run measured so far, minutes."""


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A CRM with two flows: contacts against a 15-minute freshness SLO, deals 30 minutes."""
    (tmp_path / "syncwell.yaml").write_text(
        "name: shop\ncore: core\nsystems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  crm: {kind: sqlite, path: crm.db}\n"
        "flows:\n"
        "  contacts: {source: core, destination: crm, stream: c, key: id, cursor: at,"
        " slo: {freshness: 15m}}\n"
        "  deals: {source: core, destination: crm, stream: d, key: id, cursor: at,"
        " slo: {freshness: 30m}}\n"
    )
    return load_workspace(tmp_path / "syncwell.yaml")


async def _measured(workspace: Workspace, *, backlog: int = 0) -> Store:
    """A store whose measurements began `MINUTES` ago: both flows write every minute, with
    lags of 2 and 3 minutes; contacts has `backlog` changes waiting (its CRM is failing)."""
    store = await open_store(workspace.state)
    now = int(time.time()) // 60 * 60
    rows = [
        FlowMinute(
            flow,
            now - minute * 60,
            measured_s=60,
            changes_out=120,
            batches=2,
            lag_sum_s=2 * lag,
            attempts=2,
            backlog_max=backlog if flow == "contacts" else 0,
        ).as_row()
        for minute in range(MINUTES)
        for flow, lag in (("contacts", 120.0), ("deals", 180.0))
    ]
    await store.measurements.add(rows)
    return store


async def _page(workspace: Workspace, client: httpx.AsyncClient, path: str) -> str:
    store = await open_store(workspace.state)
    try:
        token = (await store.tokens.create("viewer", "a viewer"))[1]
    finally:
        await store.close()
    answer = await client.get(path, headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text[:500]
    return answer.text


def _charts(page: str) -> dict[str, ET.Element]:
    """The page's charts by their title."""
    found = {}
    for svg in re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="chart".*?</svg>', page):
        root = ET.fromstring(svg)
        found[root.findtext(f"{NS}title") or ""] = root
    return found


def _texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text") if t.get("class") == cls]


def _clock_span_min(labels: list[str]) -> int:
    """Minutes from the first to the last HH:MM label (across midnight too)."""
    minutes = [int(label[:2]) * 60 + int(label[3:]) for label in labels]
    return (minutes[-1] - minutes[0]) % 1440


def _vertices(root: ET.Element, flow: str) -> int:
    """How many points the line of `flow` joins (a dot alone joins none)."""
    for path in root.iter(f"{NS}path"):
        if (path.findtext(f"{NS}title") or "").startswith(f"{flow}:"):
            return len(re.findall(r"[ML]", path.get("d") or ""))
    raise AssertionError(f"no line for {flow}")


async def test_a_young_run_opens_on_the_window_since_its_first_measurement(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """Five minutes into a run the page opens on a quarter of an hour, not a day: the time
    axis is labelled in minutes across at most 30, each flow's line joins a point a minute,
    and "since start" is the window shown selected. The fixed windows still work, 24h too."""
    store = await _measured(workspace)
    await store.close()
    page = await _page(workspace, client, "/integrations/crm")
    assert re.search(r'href="\?window=start" aria-current="true">since start<', page)
    throughput = _charts(page)["Throughput"]
    labels = _texts(throughput, "x-tick")
    assert len(labels) >= 2 and all(re.fullmatch(r"\d\d:\d\d", label) for label in labels)
    assert _clock_span_min(labels) <= 30  # a day's window is labelled hours apart
    assert MINUTES - 1 <= _vertices(throughput, "contacts") <= 31
    assert "Plots of the last 15m (since the first measurement)" in page

    day = await _page(workspace, client, "/integrations/crm?window=24h")
    assert re.search(r'href="\?window=24h" aria-current="true">24h<', day)
    assert 'href="?window=start">since start<' in day  # offered, not selected
    assert _clock_span_min(_texts(_charts(day)["Throughput"], "x-tick")) >= 12 * 60
    hour = await _page(workspace, client, "/integrations/crm?window=1h")
    assert re.search(r'href="\?window=1h" aria-current="true">1h<', hour)


async def test_each_flow_has_its_own_slo_line_labelled_with_it(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """Contacts (15m) and deals (30m) share the CRM's lag plot: each SLO is a dashed line
    of its own, named after its flow and drawn in its flow's colour."""
    store = await _measured(workspace)
    await store.close()
    lag = _charts(await _page(workspace, client, "/integrations/crm"))["Freshness lag (mean)"]
    assert sorted(_texts(lag, "threshold-label")) == ["SLO 15m · contacts", "SLO 30m · deals"]
    colours = {
        (p.findtext(f"{NS}title") or "").split(":")[0]: p.get("stroke")
        for p in lag.iter(f"{NS}path")
    }
    lines = [t for t in lag.iter(f"{NS}line") if t.get("class") == "threshold"]
    assert [t.get("stroke") for t in lines] == [colours["deals"], colours["contacts"]]


async def test_the_backlog_has_a_plot_with_its_values(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A CRM failing with 695 changes waiting for contacts: the backlog plot shows them,
    and deals' empty queue at zero."""
    store = await _measured(workspace, backlog=695)
    await store.close()
    charts = _charts(await _page(workspace, client, "/integrations/crm"))
    backlog = charts["Backlog"]
    tips = [p.findtext(f"{NS}title") or "" for p in backlog.iter(f"{NS}path")]
    assert tips == [
        "contacts: last 695 changes waiting, max 695 changes waiting",
        "deals: last 0 changes waiting, max 0 changes waiting",
    ]
    assert _texts(backlog, "y-tick")[-1] == "1k"


async def test_a_short_incident_is_a_visible_mark_on_both_timelines(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """An incident of 30 s, five minutes into a run: the incidents page opens on the run's
    window (not a week, where it was 3 px wide), and so does the integration page's timeline;
    on both the bar is tens of pixels wide."""
    store = await _measured(workspace)
    now = time.time()
    incident = await store.incidents.open("crm", "contacts", "breaker_open", "503", now - 150)
    assert incident
    await store.incidents.close("contacts", "breaker_open", now - 120)
    await store.close()
    for path in ("/incidents", "/integrations/crm"):
        page = await _page(workspace, client, path)
        bars = re.findall(r'<rect class="incident" x="[\d.]+" y="\d+" width="([\d.]+)"', page)
        assert len(bars) == 1 and float(bars[0]) >= 20, (path, bars)
    week = await _page(workspace, client, "/incidents?window=7d")
    assert re.search(r'href="\?window=7d" aria-current="true">7d<', week)


def test_a_bar_is_never_thinner_than_the_minimum() -> None:
    """In a week, 30 s is a twentieth of a pixel: the bar is drawn `MIN_BAR_PX` wide (it was
    3 px), and one at the right edge stays inside the picture."""
    until = 1_795_000_000.0
    since = until - 7 * 86400
    incidents = [
        Incident(1, "crm", "contacts", "stale", "", until - 86400, until - 86370),
        Incident(2, "crm", "contacts", "stale", "", until - 30, until),
    ]
    svg = ET.fromstring(incident_timeline(incidents, ["crm"], since=since, until=until))
    _, _, width, _ = (float(v) for v in (svg.get("viewBox") or "").split())
    bars = [r for r in svg.iter() if r.tag.endswith("rect") and r.get("class") == "incident"]
    assert MIN_BAR_PX >= 8
    assert [float(r.get("width") or 0) for r in bars] == [MIN_BAR_PX, MIN_BAR_PX]
    assert all(float(r.get("x") or 0) + MIN_BAR_PX <= width for r in bars)


def test_since_start_fits_a_young_run_and_gives_way_to_the_longest_window() -> None:
    """Since start spans the data (15 minutes at least) while it is younger than the page's
    longest default, and is offered as a link only then; past it, or with nothing measured,
    the page shows that default selected; a fixed choice is always what it says."""
    now, hour = 1_795_000_000.0, 3600.0
    young = fitted("start", now - 300, now, longest="24h")
    assert (young.choice, young.span_s) == ("start", MIN_FITTED_S) and MIN_FITTED_S <= 1800
    assert [c for c, _ in young.offered] == ["start", "1h", "6h", "24h", "7d"]
    assert fitted("start", now - 2 * hour, now, longest="24h").span_s == 2 * hour
    old = fitted("start", now - 30 * hour, now, longest="24h")
    assert (old.choice, old.span_s) == ("24h", 24 * hour) and old.offered[0][0] == "1h"
    assert fitted("start", None, now, longest="7d").span_s == 7 * 24 * hour
    assert fitted("start", now - 30 * hour, now, longest="7d").span_s == 30 * hour
    chosen = fitted("6h", now - 300, now, longest="24h")
    assert (chosen.choice, chosen.span_s, chosen.offered[0][0]) == ("6h", 6 * hour, "start")


async def test_the_first_minute_is_the_oldest_stored_of_the_flows_asked(
    state_store: Store,
) -> None:
    """On SQLite and PostgreSQL: the oldest minute of the flows named, or of any; None
    before anything is measured (the page then shows its longest default)."""
    assert await state_store.measurements.first_minute() is None
    rows = [FlowMinute("a", 600, measured_s=60), FlowMinute("b", 120, measured_s=60)]
    await state_store.measurements.add([row.as_row() for row in rows])
    assert await state_store.measurements.first_minute(["a"]) == 600.0
    assert await state_store.measurements.first_minute() == 120.0
    assert await state_store.measurements.first_minute(["c"]) is None
