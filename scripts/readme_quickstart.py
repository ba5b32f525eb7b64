"""Run the README's quick start as a new user would, in a checkout, and time each command.

    python scripts/readme_quickstart.py [CHECKOUT]    # default: this checkout

Writes the README's example files (```python <file>``` blocks) into the checkout, then runs each
```sh quickstart``` line with bash there, in order, and stops at the first that fails. Run it on
a fresh clone to measure a new user's first hour (the first `make zoo` creates .venv).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.readme_blocks import files, quickstart_commands


def main() -> int:
    checkout = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    readme = checkout / "README.md"
    for name, text in files(readme).items():
        (checkout / name).write_text(text)
        print(f"wrote {name}", flush=True)
    started = time.monotonic()
    for command in quickstart_commands(readme):
        begun = time.monotonic()
        print(f"$ {command}", flush=True)
        code = subprocess.run(["bash", "-c", command], cwd=checkout, check=False).returncode
        print(f"exit {code} after {time.monotonic() - begun:.0f} s", flush=True)
        if code != 0:
            return code
    print(f"quick start: {len(quickstart_commands(readme))} commands in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
