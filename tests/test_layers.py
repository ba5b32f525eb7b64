"""The module graph keeps its rules (pyproject.toml [tool.importlinter]): the layers in order, no
cycles, reports apart from workers, the zoo apart from the harness, workers driven from the
pipeline; and no module grows past what one reader holds in mind."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_LINES = 400


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_an_import_against_the_layers_breaks_the_contract(tmp_path: Path) -> None:
    # A copy of the tree in which the row vocabulary (core, near the bottom) reaches up to the report.
    for name in ("suite", "zoo"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    record = tmp_path / "suite" / "core" / "record.py"
    record.write_text(record.read_text() + "\nimport suite.report.results  # against the order\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Layers: " in result.stdout and "BROKEN" in result.stdout
    assert "suite.core.record -> suite.report.results" in result.stdout


def test_no_module_is_longer_than_a_reader_holds_in_mind() -> None:
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in ("suite", "zoo")
        for path in (ROOT / package).rglob("*.py")
    }
    offenders = {name: lines for name, lines in lengths.items() if lines > MAX_LINES}
    assert offenders == {}, f"modules over {MAX_LINES} lines (split them at a real seam): {offenders}"
