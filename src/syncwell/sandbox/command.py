"""`python -m syncwell.sandbox`: flags to a `SandboxConfig`, then serve until a signal.

Fault flags such as `--error-rate` apply to every tool; `--crm-faults '{"...": ...}'` (and
`--email-faults`, `--project-faults`) set one tool's knobs and win over the shared flags.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from syncwell.sandbox.config import SandboxConfig, WebhookSubscription
from syncwell.sandbox.crm.subscriptions import new_secret
from syncwell.sandbox.server import SandboxEndpoints, serve_sandbox

__all__ = ["build_parser", "config_from_args", "main", "run_sandbox"]

_TOOLS = ("crm", "email", "project")


def build_parser() -> argparse.ArgumentParser:
    """Every flag of the sandbox command."""
    parser = argparse.ArgumentParser(
        prog="python -m syncwell.sandbox",
        description="Fake CRM, email platform and project tool with fault knobs.",
    )
    add = parser.add_argument
    add("--config", type=Path, help="a JSON SandboxConfig to start from")
    add("--data-dir", type=Path, help="keep one SQLite file per tool here (default: in memory)")
    add("--host", help="address to listen on (default 127.0.0.1)")
    add("--seed", type=int, help="seed of the generated data (default 7)")
    for tool, port in zip(_TOOLS, (8101, 8102, 8103), strict=True):
        add(f"--{tool}-port", type=int, help=f"port of the {tool} (default {port}; 0 picks one)")
    add("--crm-token", help="bearer token of the CRM (default sandbox-crm-token)")
    add("--email-key", help="X-Api-Key of the email platform (default sandbox-email-key)")
    add("--project-user", help="basic auth user of the project tool (default sandbox)")
    add("--project-password", help="its password (default sandbox-project-pass)")
    add("--contacts", type=int, help="CRM contacts to seed (default 2000)")
    add("--companies", type=int, help="CRM companies to seed (default 300)")
    add("--tasks", type=int, help="project tasks to seed (default 500)")
    add(
        "--project-filter-syntax",
        choices=("modified_after", "operator"),
        help="how the task list filters by change time: modified_after=<time> (default), or "
        "modified=<op><time> where a bare time means equal to",
    )
    add("--members", type=int, help="email members to seed (default 0)")
    add("--visibility-delay-s", type=float, help="email read delay after a write (default 1)")
    add("--webhook-url", action="append", default=[], help="subscribe a URL to CRM events")
    add("--webhook-secret", help="whsec_ secret for the --webhook-url subscriptions")
    add(
        "--webhook-shape",
        choices=("single", "bulk", "thin"),
        help="events per record (default), bulk rows in data.rows, or ids only in data.ids",
    )
    add(
        "--webhook-header",
        help="send the secret as it is in this header instead of signing (a static token)",
    )
    add(
        "--webhook-generic-types",
        action="store_true",
        help="name every table's events records.after.<op>, the table in data.table_name",
    )
    add("--access-log", action="store_true", help="log every request")
    add("--ready-file", type=Path, help="write the bound ports here as JSON once listening")
    _add_fault_flags(parser)
    return parser


def _add_fault_flags(parser: argparse.ArgumentParser) -> None:
    faults = parser.add_argument_group("faults (every tool; per tool with --<tool>-faults)")
    add = faults.add_argument
    add("--error-rate", type=float, help="share of requests answered 500/502/503")
    add("--throttle-rate", type=float, help="share of requests answered 429 + Retry-After")
    add("--latency-ms", type=float, help="latency added to every request")
    add("--latency-jitter-ms", type=float, help="up to this much more, at random")
    add("--malformed-rate", type=float, help="share of listed records returned messy")
    add("--duplicate-webhook-rate", type=float, help="share of webhooks sent twice")
    add("--reorder-webhooks", action="store_true", default=None, help="shuffle webhooks")
    add("--rate-limit-per-s", help="requests per second per tool, or 'off'")
    add(
        "--outage",
        action="append",
        metavar="EVERY_S:FOR_S",
        help="down for FOR_S seconds of every EVERY_S (repeat for more; 'off' for none)",
    )
    for tool in _TOOLS:
        add(
            f"--{tool}-faults",
            metavar="JSON",
            help=f"knobs of the {tool}, e.g. '{{\"error_rate\": 0.1}}'",
        )


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


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags and serve; the exit code (2 for bad flags)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as error:
        message = str(error) if not isinstance(error, ValidationError) else _brief(error)
        parser.error(message)
    try:
        run_sandbox(
            config, announce=lambda text: print(text, flush=True), ready_file=args.ready_file
        )
    except OSError as error:  # a port in use, a data folder we may not write
        print(f"sandbox: {error}", file=sys.stderr)
        return 1
    return 0


def _brief(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
