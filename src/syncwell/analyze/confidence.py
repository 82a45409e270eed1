"""How sure a share is: breaches are claimed on evidence, not on one unlucky sample."""

from __future__ import annotations

import math

__all__ = ["at_least"]

_Z95 = 1.959964
"""The standard normal quantile of a two-sided 95% interval."""


def at_least(bad: int, total: int) -> float:
    """The share `bad / total` is at least this, with 95% confidence (the Wilson score
    interval's lower bound): 1 failure in 8 attempts is not yet evidence of a 12% failure
    rate, while 100 in 800 is. Claims of a breach then hold on small samples too."""
    if total <= 0 or bad <= 0:
        return 0.0
    z = _Z95
    share = bad / total
    centre = share + z * z / (2 * total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return max(0.0, (centre - spread) / (1 + z * z / total))
