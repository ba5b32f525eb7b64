"""The project's own tests: runs of the zoo made by tests of other machinery do not triage their red
cases (tests/test_triage.py turns triage on for its own runs); the setting reaches every subprocess."""

import os

os.environ.setdefault("ZOO_TRIAGE", "0")
