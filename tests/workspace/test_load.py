"""Loading a valid workspace: values, defaults, variables and paths."""

from __future__ import annotations

import re
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from syncwell.connectors.postgres.settings import Settings as PostgresSettings
from syncwell.connectors.sqlite.settings import Settings as SqliteSettings
from syncwell.workspace import Mode, Workspace, load_workspace, parse_workspace

FULL = Path(__file__).parent / "examples" / "full.yaml"
DOCS = Path(__file__).parents[2] / "docs" / "workspace.md"
ENV = {"PGUSER": "ann"}


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    file = tmp_path / "syncwell.yaml"
    file.write_text(FULL.read_text())
    return load_workspace(file, env=ENV)


def test_top_level_values_and_defaults(workspace: Workspace, tmp_path: Path) -> None:
    """Name, state URL (resolved against the folder), core and paths come out as written."""
    root = tmp_path.resolve()
    assert workspace.name == "demo"
    assert workspace.root == root
    assert workspace.path == root / "syncwell.yaml"
    assert workspace.state == f"sqlite:///{root}/state/sync.db"
    assert workspace.core == "app"
    assert list(workspace.systems) == ["app", "crm", "mail"]


def test_systems_settings_policies_and_env(workspace: Workspace, tmp_path: Path) -> None:
    """Settings are typed by kind, ${VAR}s are expanded and policies merge over defaults."""
    app, crm, mail = (workspace.systems[name] for name in ("app", "crm", "mail"))
    assert isinstance(app.settings, PostgresSettings)
    assert app.kind == "postgres"
    assert app.settings.dsn == SecretStr("postgresql://ann@127.0.0.1/test")
    assert app.rate_limit is not None and app.rate_limit.per_second == 10
    assert (app.retry.base_s, app.retry.cap_s, app.retry.max_attempts) == (1.0, 30.0, 3)
    assert app.breaker.failure_threshold == 5
    assert isinstance(crm.settings, SqliteSettings)
    assert crm.settings.path == str(tmp_path.resolve() / "crm.db")
    assert crm.retry.max_attempts == 6 and crm.retry.base_s == 1.0
    assert crm.rate_limit is None
    assert isinstance(mail.settings, SqliteSettings)
    assert mail.settings.path == "/var/lib/mail.db"
    assert mail.settings.busy_timeout_s == 2.5


def test_flow_values_and_defaults(workspace: Workspace) -> None:
    """A flow's durations parse, and target, version, interval and SLO take their defaults."""
    contacts, deals, notes, invoices = workspace.flows.values()
    assert list(workspace.flows) == ["contacts", "deals", "notes", "invoices"]
    assert contacts.key == ("id",)
    assert (contacts.target, contacts.version) == ("contacts", "updated_at")
    assert contacts.interval == timedelta(seconds=30)
    assert contacts.slo.freshness == timedelta(minutes=5)
    assert contacts.slo.success_rate == 0.999
    assert contacts.fields == {"id": "id", "email": "email", "updated_at": "updated_at"}
    assert deals.mode is Mode.REALTIME and deals.interval == timedelta(minutes=15)
    assert deals.lookback == timedelta(hours=1, minutes=30)
    assert deals.batch_size == 500
    assert deals.slo.freshness == timedelta(minutes=15) and deals.slo.success_rate == 0.99
    assert notes.mode is Mode.MANUAL and notes.interval is None and notes.cursor is None
    assert invoices.mode is Mode.BATCH and invoices.interval == timedelta(hours=1)
    assert invoices.lookback == timedelta(minutes=5)


def test_stream_specs_translate_names(workspace: Workspace) -> None:
    """The destination spec renames key, cursor and columns through `fields`."""
    deals = workspace.flows["deals"]
    source, destination = deals.source_spec(), deals.destination_spec()
    assert source.name == "deals" and source.key == ("org", "id")
    assert source.columns == ("org", "id", "changed", "amount")
    assert (source.cursor, source.version, source.lookback_s) == ("changed", "changed", 5400.0)
    assert destination.name == "crm_deals" and destination.key == ("org", "deal_id")
    assert destination.columns == ("org", "deal_id", "changed_at", "amount")
    assert (destination.cursor, destination.version) == ("changed_at", "changed_at")
    assert destination.batch_size == 500


def test_integration_is_the_non_core_side(workspace: Workspace) -> None:
    """A flow's integration is its external system, or its destination when neither is core."""
    flows = workspace.flows
    assert flows["contacts"].integration == "crm"
    assert flows["deals"].integration == "crm"
    assert flows["notes"].integration == "mail"
    assert flows["invoices"].integration == "crm"


def test_workflows_in_both_forms(workspace: Workspace) -> None:
    """The list shorthand and the mapping form both give a Workflow."""
    assert workspace.workflows["lead_to_core"].flows == ("contacts", "deals")
    onboarding = workspace.workflows["onboarding"]
    assert onboarding.description == "New customer, first week"
    assert onboarding.flows == ("notes", "invoices")


def test_minimal_file_gets_every_default(tmp_path: Path) -> None:
    """Without name, state or core the folder name, a state file in it and 'core' are used."""
    text = textwrap.dedent(
        """
        systems:
          core: {kind: sqlite, path: app.db}
          crm: {kind: sqlite, path: ../crm.db}
        flows:
          contacts: {source: crm, destination: core, stream: contacts, key: id, cursor: u}
        """
    )
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path, env={})
    root = tmp_path.resolve()
    assert workspace.name == root.name
    assert workspace.state == f"sqlite:///{root}/.syncwell/state.db"
    assert workspace.core == "core"
    crm = workspace.systems["crm"].settings
    assert isinstance(crm, SqliteSettings) and crm.path == str(root.parent / "crm.db")
    flow = workspace.flows["contacts"]
    assert flow.interval == timedelta(seconds=60) and flow.integration == "crm"
    assert workspace.workflows == {}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("postgres://u@h/db", "postgresql://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////abs/state.db", "sqlite:////abs/state.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_state_urls(state: str, expected: str, tmp_path: Path) -> None:
    """State URLs are kept, except that postgres:// is spelled the way SQLAlchemy reads it."""
    text = f"state: '{state}'\nsystems:\n  a: {{kind: sqlite, path: a.db}}\n"
    assert parse_workspace(text, root=tmp_path, env={}).state == expected


def test_no_core_means_destination_is_the_integration(tmp_path: Path) -> None:
    """Without a core system, a flow's integration is its destination."""
    text = textwrap.dedent(
        """
        systems: {a: {kind: sqlite, path: a.db}, b: {kind: sqlite, path: b.db}}
        flows: {f: {source: a, destination: b, stream: t, key: id, mode: manual}}
        """
    )
    workspace = parse_workspace(text, root=tmp_path, env={})
    assert workspace.core is None
    assert workspace.flows["f"].integration == "b"


def test_a_folder_loads_its_syncwell_yaml(tmp_path: Path) -> None:
    """load_workspace given a folder reads the syncwell.yaml inside it."""
    (tmp_path / "syncwell.yaml").write_text("systems: {a: {kind: sqlite, path: a.db}}\n")
    assert load_workspace(tmp_path, env={}).systems["a"].kind == "sqlite"


def test_environment_is_the_default_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit env, ${VAR} reads the process environment."""
    monkeypatch.setenv("SYNCWELL_TEST_DB", "from-env.db")
    text = "systems: {a: {kind: sqlite, path: '${SYNCWELL_TEST_DB}'}}\n"
    settings = parse_workspace(text, root=tmp_path).systems["a"].settings
    assert isinstance(settings, SqliteSettings)
    assert settings.path.endswith("from-env.db")


def test_the_docs_example_loads(tmp_path: Path) -> None:
    """The complete example in docs/workspace.md is a valid workspace."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    example = next(block for block in blocks if "workflows:" in block)
    workspace = parse_workspace(example, "syncwell.yaml", tmp_path, env={"PGUSER": "ann"})
    assert workspace.flows and workspace.workflows
