"""A flow's `verify:`: on for the first 200 records by default, `false` off, `true` always;
and `syncwell check` says once where writes cannot be read back, never in silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwell.workspace import Workspace, parse_workspace, workspace_warnings
from syncwell.workspace.verify import Verify

WORKSPACE = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  hooks:
    kind: webhook_out
    url: https://receiver.example/hooks
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  tool:
    kind: http
    base_url: https://tool.example
    streams:
      contacts:
        write:
{write}
flows:
  out:
    source: core
    destination: {destination}
    stream: contacts
    key: id
    deletes: {{detect: none}}
{verify}
"""

BULK = "          upsert: {path: /contacts/batch, body: {inputs: '{{records}}'}}"
OWN_URL = "          upsert: {path: '/contacts/{id}', method: PUT}"


def _workspace(
    tmp_path: Path, destination: str, verify: str = "", write: str = OWN_URL
) -> Workspace:
    text = WORKSPACE.format(destination=destination, verify=verify, write=write)
    return parse_workspace(text, "syncwell.yaml", tmp_path)


def _verify_warnings(
    tmp_path: Path, destination: str, verify: str = "", write: str = OWN_URL
) -> list[str]:
    found = workspace_warnings(_workspace(tmp_path, destination, verify, write))
    return [w.message for w in found if w.where == "flows.out.verify"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("", Verify()),
        ("    verify: false", Verify(first=0)),
        ("    verify: true", Verify(always=True)),
        (
            "    verify: {first: 50, sample: 0.1, ignore: email}",
            Verify(first=50, sample=0.1, ignore=("email",)),
        ),
    ],
)
def test_verify_defaults_and_shorthands(tmp_path: Path, written: str, expected: Verify) -> None:
    """Default: the first 200 records; `false` none; `true` every batch; a lone `ignore`
    field is a list of one."""
    assert _workspace(tmp_path, "tool", written).flows["out"].verify == expected


def test_a_share_out_of_range_is_refused_with_its_line(tmp_path: Path) -> None:
    """`sample: 0` would read nothing back while saying it verifies: refused at load."""
    with pytest.raises(Exception, match="sample"):
        _workspace(tmp_path, "tool", "    verify: {sample: 0}")


def test_a_destination_that_cannot_read_back_is_warned_about_once(tmp_path: Path) -> None:
    """A webhook receiver keeps nothing to read back, and an http stream written only in
    bulk names no record's URL: each is one warning with the fix; `verify: false` says it
    is enough, and a stream with a URL per record needs no warning."""
    (hooks,) = _verify_warnings(tmp_path, "hooks")
    assert "webhook_out destination keeps nothing" in hooks and "verify: false" in hooks
    (bulk,) = _verify_warnings(tmp_path, "tool", write=BULK)
    assert "write.verify" in bulk
    assert _verify_warnings(tmp_path, "hooks", "    verify: false") == []
    assert _verify_warnings(tmp_path, "tool") == []
