"""The README runs as written: its example module passes, its quick start's commands and every
--zoo-* option it names exist, and its shell lines survive the shell."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from tests.readme_blocks import README, blocks, files, quickstart_commands
from tests.zoo_runs import run_matrix

OPTIONS = README.parent / "suite" / "plugin" / "options.py"
# The README's indented command lines (4 spaces, then a command a user would paste).
_INDENTED_COMMAND = re.compile(r"^    ((?:make|python|pytest|\.venv/bin/)\S*.*)$", re.MULTILINE)


def _zoo_options() -> set[str]:
    return set(re.findall(r'"(--zoo-[a-z0-9-]+)"', OPTIONS.read_text()))


def _shell_lines() -> list[str]:
    fenced = [
        line
        for block in blocks()
        if block.language in ("sh", "bash", "shell", "console")
        for line in block.text.splitlines()
    ]
    joined = re.sub(r"\\\n\s+", " ", README.read_text())  # a command continued over lines is one line
    return fenced + _INDENTED_COMMAND.findall(joined)


def test_every_zoo_option_the_readme_names_exists() -> None:
    named = set(re.findall(r"--zoo-[a-z0-9-]+", README.read_text()))
    assert named and named <= _zoo_options(), sorted(named - _zoo_options())


def test_the_quick_start_is_make_zoo_with_options_that_exist_and_parse_in_a_shell() -> None:
    commands = quickstart_commands()
    assert commands and all(command.startswith("make zoo") for command in commands)
    options = _zoo_options()
    for command in commands:
        words = shlex.split(command)  # unbalanced quotes fail here
        assert not {";", "&", "|"} & set(command.replace('"', " ").split()), command
        zoo_args = next((w.split("=", 1)[1] for w in words if w.startswith("ZOO_ARGS=")), "")
        given = {w.split("=")[0] for w in shlex.split(zoo_args) if w.startswith("--")}
        assert given <= options, given - options


def test_shell_lines_in_the_readme_quote_what_the_shell_would_cut() -> None:
    # `--zoo-opsets torchscript:11,13;dynamo:18` unquoted is cut at `;` and the options after it vanish.
    lines = _shell_lines()
    assert len(lines) > 10
    for line in lines:
        unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", line.split(" #")[0])
        assert not re.search(r"--zoo-\S*[;*]|--zoo-[a-z-]+ [^-\s]*[;*]", unquoted), line
        shlex.split(line.split(" #")[0])  # balanced quotes


@pytest.mark.slow
def test_the_readme_example_module_passes_four_of_four(pytester: pytest.Pytester, tmp_path: Path) -> None:
    module = tmp_path / "my_models.py"
    module.write_text(files()["my_models.py"])
    result = run_matrix(pytester, tmp_path, "--zoo-profile=quick", f"--zoo-module={module}", "--zoo-models=my_cnn")
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv")
    assert len(rows) == 4 and set(rows["status"]) == {"pass"}, rows[["case_id", "status", "message"]].to_string()
    assert result.ret == 0
