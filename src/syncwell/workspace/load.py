"""Loading syncwell.yaml: read, expand variables, validate, and report every problem at once.

The result is a `Workspace` or one `WorkspaceProblems` whose message lists each mistake as
``path:line: [key] what is wrong and how to fix it``, in the order of the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from syncwell.errors import WorkspaceError
from syncwell.workspace.alerts import AlertSettings
from syncwell.workspace.checks import (
    capture_problems,
    core_problems,
    name_problems,
    unsent_problems,
)
from syncwell.workspace.document import Document, read_document
from syncwell.workspace.explain import unknown_field
from syncwell.workspace.model import Workspace
from syncwell.workspace.problems import KeyPath, Problem, WorkspaceProblems, dotted
from syncwell.workspace.sections import (
    Findings,
    build_defaults,
    build_flows,
    build_systems,
    build_workflows,
)
from syncwell.workspace.tickets import TicketSettings, ticket_problems
from syncwell.workspace.transport import TransportSettings

__all__ = ["load_workspace", "parse_workspace"]

_SECTIONS = (
    "version",
    "name",
    "state",
    "core",
    "defaults",
    "systems",
    "flows",
    "workflows",
    "alerts",
    "transport",
    "tickets",
)
_STATE_FORMS = (
    "write sqlite:///.syncwell/state.db (relative to the workspace folder), "
    "sqlite:////absolute/path/state.db, or postgresql://user@host/db"
)


def load_workspace(path: str | Path, *, env: Mapping[str, str] | None = None) -> Workspace:
    """Load the workspace file at `path` (or ``syncwell.yaml`` in the folder `path`).

    Args:
        path: the workspace file, or its folder.
        env: the variables ``${VAR}`` reads; default: the process environment.

    Raises:
        WorkspaceProblems: a `WorkspaceError` listing every problem with its line and fix.
    """
    file = Path(path)
    if file.is_dir():
        file = file / "syncwell.yaml"
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _one(
            file,
            "no workspace file here; create one (docs/workspace.md has a complete "
            "example) or name it: `syncwell check -w path/to/syncwell.yaml`",
        ) from None
    except UnicodeDecodeError:
        raise _one(file, "the file is not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise _one(
            file, f"cannot read the file ({error.strerror}); check its permissions"
        ) from None
    resolved = file.resolve()
    return _parse(text, str(file), resolved, resolved.parent, env)


def parse_workspace(
    text: str,
    path: str = "<string>",
    root: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Workspace:
    """Load a workspace from its text (for tests and tools).

    Args:
        text: the YAML.
        path: the name errors show; relative paths start from its folder unless `root` is given.
        root: the folder relative paths start from. Default: `path`'s folder, or the current one.
        env: the variables ``${VAR}`` reads; default: the process environment.

    Raises:
        WorkspaceProblems: every problem with its line and fix.
    """
    if root is None:
        root = Path.cwd() if path == "<string>" else Path(path).parent
    return _parse(text, path, Path(path), root.resolve(), env)


def _one(file: Path, message: str) -> WorkspaceProblems:
    return WorkspaceProblems([WorkspaceError(message, path=str(file))])


def _parse(
    text: str, shown: str, file: Path, root: Path, env: Mapping[str, str] | None
) -> Workspace:
    document, problems = read_document(text, os.environ if env is None else env)
    found = Findings(problems)
    workspace = None
    if document is not None and isinstance(document.data, dict):
        workspace = _build(document.data, file, root, found)
    if found.problems or workspace is None:
        raise _report(found, document, shown)
    return workspace


def _build(data: dict[str, object], file: Path, root: Path, found: Findings) -> Workspace | None:
    found.problems += [
        Problem((key,), unknown_field(key, _SECTIONS)) for key in data if key not in _SECTIONS
    ]
    _check_version(data.get("version", 1), found)
    name = _name(data.get("name"), root, found)
    state = _state(data.get("state"), root, found)
    systems_raw = _section(data, "systems", found)
    if data.get("systems") in (None, {}):
        message = "no `systems:` section; add one with at least one system (see docs/workspace.md)"
        found.problems.append(Problem(("systems",), message))
    defaults = build_defaults(data.get("defaults"), found)
    systems = build_systems(systems_raw, defaults, root, found)
    core = _core(data.get("core"), systems_raw, found)
    flows_raw = _section(data, "flows", found)
    flows = build_flows(flows_raw, core, systems_raw, found)
    for flow in flows.values():
        if flow.destination in systems:  # an unknown one is reported by build_flows
            found.problems += unsent_problems(flow, systems[flow.destination])
        if flow.source in systems:
            found.problems += capture_problems(flow, systems[flow.source])
    workflows_raw = _section(data, "workflows", found)
    workflows = build_workflows(workflows_raw, flows, flows_raw, found)
    alerts = (
        found.validate(AlertSettings, data["alerts"], ("alerts",))
        if data.get("alerts") is not None
        else None
    )
    transport = (
        found.validate(TransportSettings, data["transport"], ("transport",))
        if data.get("transport") is not None
        else None
    )
    if transport is not None and data.get("name") is None:
        message = (
            "a transport needs an explicit `name:`: it names the stream every process uses, "
            "and the folder's name (the default) may differ between machines"
        )
        found.problems.append(Problem(("transport",), message))
    if transport is not None and state and not state.startswith("postgresql"):
        message = (
            "a transport needs a state store every process shares: "
            "set `state: postgresql://user@host/db`"
        )
        found.problems.append(Problem(("transport",), message))
    tickets = (
        found.validate(TicketSettings, data["tickets"], ("tickets",))
        if data.get("tickets") is not None
        else None
    )
    if tickets is not None:
        integrations = {flow.integration for flow in flows.values()}
        kinds = {name: system.kind for name, system in systems.items()}
        found.problems += ticket_problems(tickets, dict.fromkeys(integrations), kinds)
    for section, names in (
        ("systems", systems_raw),
        ("flows", flows_raw),
        ("workflows", workflows_raw),
    ):
        found.problems += name_problems(section, names)
    if found.problems:
        return None
    return Workspace(
        name=name,
        path=file,
        root=root,
        state=state,
        core=core,
        systems=systems,
        flows=flows,
        workflows=workflows,
        alerts=alerts,
        transport=transport,
        tickets=tickets,
    )


def _section(data: Mapping[str, object], key: str, found: Findings) -> dict[str, object]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        message = f"`{key}:` must be a mapping of names to entries, not a list or a single value"
        found.problems.append(Problem((key,), message))
        return {}
    return value


def _check_version(version: object, found: Findings) -> None:
    if version != 1 or isinstance(version, bool):
        message = f"unknown version {version!r}; this syncwell reads version 1: write `version: 1`"
        found.problems.append(Problem(("version",), message))


def _name(value: object, root: Path, found: Findings) -> str:
    if value is None:
        return root.name or "workspace"
    if not isinstance(value, str) or not value.strip():
        found.problems.append(Problem(("name",), "name must be non-empty text, e.g. `name: demo`"))
        return ""
    return value


def _core(value: object, systems: Mapping[str, object], found: Findings) -> str | None:
    found.problems += core_problems(value, systems)
    if value is None:
        return "core" if "core" in systems else None
    return value if isinstance(value, str) else None


def _state(value: object, root: Path, found: Findings) -> str:
    if value is None:
        return f"sqlite:///{root / '.syncwell' / 'state.db'}"
    try:
        return _state_url(value, root)
    except ValueError as error:
        found.problems.append(Problem(("state",), str(error)))
        return ""


def _state_url(value: object, root: Path) -> str:
    """The state store's URL with a relative SQLite path made absolute from `root`.

    Raises:
        ValueError: `value` is not a sqlite or postgresql URL.
    """
    if not isinstance(value, str):
        raise ValueError(f"state must be a database URL; {_STATE_FORMS}")
    scheme, _, rest = value.partition("://")
    backend, _, driver = scheme.partition("+")
    if backend in ("postgresql", "postgres") and rest:
        # SQLAlchemy no longer reads "postgres://"; say it the one way it does.
        return f"postgresql{'+' if driver else ''}{driver}://{rest}"
    if backend != "sqlite" or not rest.startswith("/") or rest == "/":
        raise ValueError(f"state {value!r} is not a state store URL; {_STATE_FORMS}")
    database = rest[1:]
    if database == ":memory:":
        return value
    path = Path(database).expanduser()
    return f"{scheme}:///{path if path.is_absolute() else (root / path).resolve()}"


def _report(found: Findings, document: Document | None, shown: str) -> WorkspaceProblems:
    errors = [_error(problem, found.renames, document, shown) for problem in found.problems]
    errors.sort(key=lambda error: (error.line is None, error.line or 0))
    return WorkspaceProblems(errors)


def _error(
    problem: Problem, renames: Mapping[KeyPath, KeyPath], document: Document | None, shown: str
) -> WorkspaceError:
    key = problem.key
    for old, new in renames.items():
        if key[: len(old)] == old:
            key = (*new, *key[len(old) :])
    line = problem.line
    if line is None and document is not None:
        line = document.line_of(key)
    return WorkspaceError(problem.message, path=shown, line=line, key=dotted(key))
