"""Every YAML example in docs/webhooks.md loads: a reader who copies one gets a working
`webhooks:` section, not a validation error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from syncwell.workspace.webhooks import WebhookIntake

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
# ${VAR} stands for a secret: a value that every kind takes (a path secret's alphabet, 32 long).
_ENV = re.compile(r"\$\{[A-Z_]+\}")


def _blocks() -> list[str]:
    text = DOC.read_text().replace(
        "${CRM_WEBHOOK_SECRET}", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    )
    return [_ENV.sub("s3cr3t-value-0123456789abcdefghij", b) for b in _BLOCK.findall(text)]


def _sections(block: str) -> list[dict[str, object]]:
    """The `webhooks:` settings a snippet stands for; each `auth:` line of a list is its own."""
    lines = block.splitlines()
    if lines[0].startswith("systems:"):  # the whole example: its system's `webhooks:`
        return [yaml.safe_load(block)["systems"]["crm"]["webhooks"]]
    if sum(line.startswith("auth:") for line in lines) > 1:
        return [yaml.safe_load(line) for line in lines if line.startswith("auth:")]
    loaded = yaml.safe_load(block)
    return [loaded] if isinstance(loaded, dict) else []


@pytest.mark.parametrize("block", _blocks())
def test_each_example_loads(block: str) -> None:
    """Each snippet (and the first example's `webhooks:`) is a system's `webhooks:`."""
    for section in _sections(block):
        settings: dict[str, object] = {
            "auth": {"kind": "none", "unsigned": True},
            "streams": {"*": "contacts"},
        }
        WebhookIntake.model_validate(settings | section)


def test_the_examples_were_found() -> None:
    """The doc has an example for each auth kind, preset and shape (a parse that finds none
    would pass vacuously)."""
    text = "\n".join(_blocks())
    kinds = "standard header basic path hmac none shopify slack zendesk linear intercom"
    for kind in (*kinds.split(), "hubspot_v3", "gitlab", "ghost", "trello"):
        assert f"kind: {kind}" in text, kind
    for setting in ("records:", "ids:", "route_by:", "handshake:"):
        assert setting in text, setting
