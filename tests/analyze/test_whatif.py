"""What-if changes are read strictly: a mistake says how to write it."""

from __future__ import annotations

import pytest

from syncwell.analyze import WhatIf, WhatIfError, parse_what_if

FLOWS = ["contacts", "tasks"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("volume=2x", WhatIf("volume", None, 2.0)),
        ("contacts.volume=1.5", WhatIf("volume", "contacts", 1.5)),
        ("interval=30s", WhatIf("interval", None, 30.0)),
        ("tasks.interval=1h", WhatIf("interval", "tasks", 3600.0)),
        ("tasks.mode=realtime", WhatIf("mode", "tasks", "realtime")),
    ],
)
def test_changes_are_read(text: str, expected: WhatIf) -> None:
    """Each setting, for every flow or for one."""
    assert parse_what_if([text], FLOWS) == [expected]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("volume", "write setting=value"),
        ("speed=2x", "not one of volume, interval, mode"),
        ("deals.volume=2x", "no flow is named 'deals'; flows: contacts, tasks"),
        ("volume=lots", "a factor like 2x"),
        ("volume=0x", "above 0"),
        ("interval=soon", "duration"),
        ("tasks.mode=fast", "mode is one of"),
    ],
)
def test_mistakes_say_how_to_write_it(text: str, hint: str) -> None:
    """A change that cannot be read is refused with the fix in the message."""
    with pytest.raises(WhatIfError, match=hint):
        parse_what_if([text], FLOWS)
