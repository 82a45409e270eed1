"""`syncwell sandbox` (and `python -m syncwell.sandbox`): flags to a `SandboxConfig`, then serve
until a signal.

Fault flags such as `--error-rate` apply to every tool; `--crm-faults '{"...": ...}'` (and
`--email-faults`, `--project-faults`) set one tool's knobs and win over the shared flags.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError
from typer.core import TyperCommand, TyperOption

from syncwell.sandbox.config import SandboxConfig, WebhookSubscription
from syncwell.sandbox.crm.subscriptions import new_secret
from syncwell.sandbox.server import SandboxEndpoints, serve_sandbox

__all__ = [
    "FlagParser",
    "build_parser",
    "config_from_args",
    "main",
    "parse_flags",
    "run_sandbox",
    "sandbox_command",
]

_TOOLS = ("crm", "email", "project")


_FAULTS = "Faults (every tool; per tool with --<tool>-faults)"
_FLAG = ""  # a flag shows as a flag in --help, without a <bool> type


def sandbox_command(
    context: typer.Context,
    config: Annotated[Path | None, typer.Option(help="A JSON SandboxConfig to start from.")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep one SQLite file per tool here (default: in memory).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = (
        None
    ),
    seed: Annotated[
        int | None, typer.Option(help="Seed of the generated data (default 7).")
    ] = None,
    crm_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port of the CRM (default 8101; 0 picks a free one)."),
    ] = None,
    email_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port of the email platform (default 8102; 0: free)."),
    ] = None,
    project_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port of the project tool (default 8103; 0: free)."),
    ] = None,
    crm_token: Annotated[
        str | None, typer.Option(help="Bearer token of the CRM (default sandbox-crm-token).")
    ] = None,
    email_key: Annotated[
        str | None,
        typer.Option(help="X-Api-Key of the email platform (default sandbox-email-key)."),
    ] = None,
    project_user: Annotated[
        str | None, typer.Option(help="Basic auth user of the project tool (default sandbox).")
    ] = None,
    project_password: Annotated[
        str | None, typer.Option(help="Its password (default sandbox-project-pass).")
    ] = None,
    contacts: Annotated[int | None, typer.Option(help="CRM contacts to seed (default 2000).")] = (
        None
    ),
    companies: Annotated[
        int | None, typer.Option(help="CRM companies to seed (default 300).")
    ] = None,
    tasks: Annotated[int | None, typer.Option(help="Project tasks to seed (default 500).")] = None,
    project_filter_syntax: Annotated[
        Literal["modified_after", "operator"] | None,
        typer.Option(
            help="How the task list filters by change time: modified_after=<time> (default), "
            "or modified=<op><time> where a bare time means equal to."
        ),
    ] = None,
    members: Annotated[int | None, typer.Option(help="Email members to seed (default 0).")] = None,
    visibility_delay_s: Annotated[
        float | None, typer.Option(help="Email read delay after a write (default 1).")
    ] = None,
    webhook_url: Annotated[
        list[str] | None, typer.Option(help="Subscribe a URL to CRM events (repeat for more).")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="whsec_ secret for the --webhook-url subscriptions.")
    ] = None,
    webhook_shape: Annotated[
        Literal["single", "bulk", "thin"] | None,
        typer.Option(
            help="An event per record (default), bulk rows in data.rows, or ids only in data.ids."
        ),
    ] = None,
    webhook_header: Annotated[
        str | None,
        typer.Option(help="Send the secret as it is in this header instead of signing."),
    ] = None,
    webhook_generic_types: Annotated[
        bool,
        typer.Option(
            "--webhook-generic-types",
            metavar=_FLAG,
            help="Name every table's events records.after.<op>, the table in data.table_name.",
        ),
    ] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log", metavar=_FLAG, help="Log every request.")
    ] = False,
    ready_file: Annotated[
        Path | None, typer.Option(help="Write the bound ports here as JSON once listening.")
    ] = None,
    error_rate: Annotated[
        float | None,
        typer.Option(help="Share of requests answered 500/502/503.", rich_help_panel=_FAULTS),
    ] = None,
    throttle_rate: Annotated[
        float | None,
        typer.Option(help="Share of requests answered 429 + Retry-After.", rich_help_panel=_FAULTS),
    ] = None,
    latency_ms: Annotated[
        float | None,
        typer.Option(help="Latency added to every request.", rich_help_panel=_FAULTS),
    ] = None,
    latency_jitter_ms: Annotated[
        float | None, typer.Option(help="Up to this much more, at random.", rich_help_panel=_FAULTS)
    ] = None,
    malformed_rate: Annotated[
        float | None,
        typer.Option(help="Share of listed records returned messy.", rich_help_panel=_FAULTS),
    ] = None,
    duplicate_webhook_rate: Annotated[
        float | None, typer.Option(help="Share of webhooks sent twice.", rich_help_panel=_FAULTS)
    ] = None,
    reorder_webhooks: Annotated[
        bool | None,
        typer.Option(
            "--reorder-webhooks", metavar=_FLAG, help="Shuffle webhooks.", rich_help_panel=_FAULTS
        ),
    ] = None,
    rate_limit_per_s: Annotated[
        str | None,
        typer.Option(help="Requests per second per tool, or 'off'.", rich_help_panel=_FAULTS),
    ] = None,
    outage: Annotated[
        list[str] | None,
        typer.Option(
            metavar="EVERY_S:FOR_S",
            help="Down for FOR_S seconds of every EVERY_S (repeat for more; 'off' for none).",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    crm_faults: Annotated[
        str | None,
        typer.Option(
            metavar="JSON",
            help="Knobs of the CRM, e.g. '{\"error_rate\": 0.1}'.",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    email_faults: Annotated[
        str | None,
        typer.Option(metavar="JSON", help="Knobs of the email platform.", rich_help_panel=_FAULTS),
    ] = None,
    project_faults: Annotated[
        str | None,
        typer.Option(metavar="JSON", help="Knobs of the project tool.", rich_help_panel=_FAULTS),
    ] = None,
) -> None:
    """Run the sandbox's three tools (CRM, email platform, project tool) with fault knobs.

    Serves until Ctrl-C or SIGTERM. docs/sandbox.md explains each knob.
    """
    raise typer.Exit(serve_flags(argparse.Namespace(**context.params)))


def parse_flags(argv: Sequence[str]) -> argparse.Namespace:
    """The flags of `argv` as the command reads them (for tests and tools).

    Raises:
        SystemExit: a flag is unknown or its value is wrong (the reason on stderr), as
            argparse does.
    """
    command = typer.main.get_command(_program())
    try:
        context = command.make_context("python -m syncwell.sandbox", list(argv))
    except typer.TyperException as error:
        print(f"python -m syncwell.sandbox: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return argparse.Namespace(**context.params)


def _shared_faults(args: argparse.Namespace) -> dict[str, object]:
    knobs = (
        "error_rate",
        "throttle_rate",
        "latency_ms",
        "latency_jitter_ms",
        "malformed_rate",
        "duplicate_webhook_rate",
        "reorder_webhooks",
    )
    faults: dict[str, object] = {
        knob: getattr(args, knob) for knob in knobs if getattr(args, knob) is not None
    }
    if args.rate_limit_per_s is not None:
        off = args.rate_limit_per_s.lower() in ("off", "none", "0")
        faults["rate_limit_per_s"] = None if off else int(args.rate_limit_per_s)
    if args.outage:
        faults["outages"] = [_outage(text) for text in args.outage if text.lower() != "off"]
    return faults


def _outage(text: str) -> dict[str, float]:
    every, _, length = text.partition(":")
    try:
        return {"every_s": float(every), "for_s": float(length)}
    except ValueError:
        raise ValueError(f"--outage takes EVERY_S:FOR_S such as 300:20, got {text!r}") from None


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The config the flags describe, over `--config` or the defaults.

    Raises:
        ValueError: for a flag value the config refuses (pydantic's ValidationError is one).
    """
    base = SandboxConfig() if args.config is None else _read_config(args.config)
    data = base.model_dump()
    top = {"data_dir": args.data_dir, "host": args.host, "seed": args.seed}
    data |= {key: value for key, value in top.items() if value is not None}
    data["access_log"] = data["access_log"] or args.access_log
    sections: dict[str, dict[str, object]] = {
        "crm": {
            "port": args.crm_port,
            "token": args.crm_token,
            "contacts": args.contacts,
            "companies": args.companies,
        },
        "email": {
            "port": args.email_port,
            "api_key": args.email_key,
            "members": args.members,
            "visibility_delay_s": args.visibility_delay_s,
        },
        "project": {
            "port": args.project_port,
            "username": args.project_user,
            "password": args.project_password,
            "tasks": args.tasks,
            "filter_syntax": args.project_filter_syntax,
        },
    }
    shared = _shared_faults(args)
    for tool, values in sections.items():
        data[tool] |= {key: value for key, value in values.items() if value is not None}
        own = json.loads(getattr(args, f"{tool}_faults") or "{}")
        if not isinstance(own, dict):
            raise ValueError(f"--{tool}-faults takes a JSON object")
        data[tool]["faults"] = data[tool]["faults"] | shared | own
    if args.webhook_url:
        secret = args.webhook_secret or new_secret()
        shape: dict[str, object] = {"shape": args.webhook_shape or "single"}
        if args.webhook_header:
            shape |= {"auth": "header", "header": args.webhook_header}
        if args.webhook_generic_types:
            shape["types"] = "generic"
        hooks = [{"url": url, "secret": secret, **shape} for url in args.webhook_url]
        data["crm"]["webhooks"] = [*data["crm"]["webhooks"], *hooks]
    return SandboxConfig.model_validate(data)


def _read_config(path: Path) -> SandboxConfig:
    return SandboxConfig.model_validate_json(path.read_text())


def describe(config: SandboxConfig, endpoints: SandboxEndpoints) -> str:
    """The banner: where each tool listens and how to authenticate."""
    where = f"data in {config.data_dir}" if config.data_dir else "in memory, lost at exit"
    lines = [
        f"syncwell sandbox ({where})",
        f"  crm      {endpoints.crm_url}  Authorization: Bearer {config.crm.token}",
        f"  email    {endpoints.email_url}  X-Api-Key: {config.email.api_key}"
        f"  (list {config.email.list_id})",
        f"  project  {endpoints.project_url}  basic auth "
        f"{config.project.username}:{config.project.password}",
    ]
    lines += [_hook_line(hook) for hook in config.crm.webhooks]
    lines.append("Fault knobs: GET/POST <tool>/_sandbox/faults. API docs: <tool>/_sandbox/docs.")
    return "\n".join(lines)


def _hook_line(hook: WebhookSubscription) -> str:
    line = f"  webhook  -> {hook.url}  secret {hook.secret}"
    if hook.auth == "header":
        line += f" (sent in {hook.header}, unsigned)"
    if (hook.shape, hook.types) != ("single", "per_object"):
        line += f"  {hook.shape} events, {hook.types} types"
    return line


def run_sandbox(
    config: SandboxConfig,
    *,
    announce: Callable[[str], object] = print,
    ready_file: Path | None = None,
) -> None:
    """Serve the sandbox until SIGINT or SIGTERM, then stop cleanly (blocking).

    Args:
        config: the tools' settings.
        announce: receives the banner once every tool listens.
        ready_file: gets `{"host", "crm_port", "email_port", "project_port"}` as JSON then.
    """

    def started(endpoints: SandboxEndpoints) -> None:
        if ready_file is not None:
            partial = ready_file.with_suffix(".partial")
            partial.write_text(json.dumps(endpoints.as_json()))
            partial.replace(ready_file)  # readers never see half a file
        announce(describe(config, endpoints))

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve_sandbox(config, stop=stop, started=started)

    asyncio.run(serve())


class FlagParser:
    """`parse_args` as argparse's parser had it, for code written against that parser."""

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """The flags of `argv` (default: this process's); SystemExit(2) on a bad one."""
        return parse_flags(sys.argv[1:] if argv is None else argv)


def build_parser() -> FlagParser:
    """The sandbox's flags, parsed as the command parses them (see `parse_flags`)."""
    return FlagParser()


class _Command(TyperCommand):
    """`python -m syncwell.sandbox`'s command: its --help shown as a flag, as in `syncwell`."""

    def get_help_option(self, ctx: Any) -> TyperOption | None:  # click's Context
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = _FLAG
        return option


def _program() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command(cls=_Command)(sandbox_command)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m syncwell.sandbox`: parse the flags and serve; the exit code (2 for bad flags)."""
    try:
        _program()(
            args=None if argv is None else list(argv), prog_name="python -m syncwell.sandbox"
        )
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
    return 0


def serve_flags(args: argparse.Namespace) -> int:
    """Serve the tools the flags describe; the exit code: 2 for a bad value, 1 when a port
    is taken or the data folder cannot be written, each in one line."""
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as error:
        message = str(error) if not isinstance(error, ValidationError) else _brief(error)
        print(f"sandbox: {message}", file=sys.stderr)
        return 2
    taken = _taken_port(config)
    if taken is not None:
        print(taken, file=sys.stderr)
        return 1
    try:
        run_sandbox(
            config, announce=lambda text: print(text, flush=True), ready_file=args.ready_file
        )
    except OSError as error:  # a port taken since the check, a data folder we may not write
        print(f"sandbox: {error}", file=sys.stderr)
        return 1
    return 0


def _taken_port(config: SandboxConfig) -> str | None:
    """The line saying which tool's port is in use and its flag, or None when all are free."""
    for tool, port in (
        ("crm", config.crm.port),
        ("email", config.email.port),
        ("project", config.project.port),
    ):
        if not port:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((config.host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                return (
                    f"sandbox: port {port} on {config.host} is in use: pick another with "
                    f"--{tool}-port N (0 picks a free one)"
                )
    return None


def _brief(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
