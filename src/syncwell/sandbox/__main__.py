"""`python -m syncwell.sandbox --help`."""

from __future__ import annotations

import sys

from syncwell.sandbox.command import main

sys.exit(main())
