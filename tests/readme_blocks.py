"""The README's runnable code blocks: ```python <file>``` blocks are files to write, ```sh quickstart```
blocks are commands a new user types, in order. Shared by tests/test_readme.py and
scripts/readme_quickstart.py, so what is tested is what the README shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```(\w+)[ \t]*([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    label: str  # a file name for a python block, "quickstart" for a shell block meant to run
    text: str


def blocks(readme: Path = README) -> list[Block]:
    """Every fenced block with a language, in the README's order."""
    return [Block(m[1], m[2].strip(), m[3]) for m in _FENCE.finditer(readme.read_text())]


def files(readme: Path = README) -> dict[str, str]:
    """The python blocks that name a file: file name -> content."""
    return {b.label: b.text for b in blocks(readme) if b.language == "python" and b.label.endswith(".py")}


def quickstart_commands(readme: Path = README) -> list[str]:
    """The quick start's shell lines, in order (comments and blank lines left out)."""
    lines = []
    for block in blocks(readme):
        if block.language == "sh" and block.label == "quickstart":
            lines += [line.split(" #")[0].strip() for line in block.text.splitlines() if line.strip()]
    return [line for line in lines if line and not line.startswith("#")]
