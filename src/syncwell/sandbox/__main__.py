"""`python -m syncwell.sandbox`: the same command as `syncwell sandbox`."""

from __future__ import annotations

import sys

from syncwell.sandbox.command import main

sys.exit(main())
