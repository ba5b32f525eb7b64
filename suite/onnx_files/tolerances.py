"""The tolerance an ONNX file from outside is judged with: its own sidecar, its folder's, the option's.

A team knows what its files need better than any default: a model of FP16 kernels, a stack of DFTs
whose float32 sums round at 1e-4. Such files carry a small JSON sidecar:

    <entry folder>/zoo_tolerance.json        {"rtol": 1e-3, "atol": 1e-5}   this entry
    <name>.tolerance.json beside <name>.onnx                                 a bare file
    <any folder above, up to --zoo-onnx-dir>/zoo_tolerance.json              every entry below it

The nearest wins (the entry's own, then each folder above it), then --zoo-onnx-tolerance, then the
default (zoo.spec.Tolerance). A key left out keeps the default's value. The row records which one
judged it (tolerance_source) beside the bounds themselves; each output is still widened to its own
dtype's precision (suite.judge.floor.file_bounds), never narrowed below what was given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from zoo.spec import Tolerance

SIDECAR = "zoo_tolerance.json"
ENTRY_SIDECAR_SUFFIX = ".tolerance.json"  # <name>.tolerance.json beside a bare <name>.onnx
OPTION = "--zoo-onnx-tolerance"
DEFAULT = "default"
_MAX_SIDECAR_BYTES = 4096  # a sidecar is a line of JSON: anything bigger is not one


class ToleranceError(ValueError):
    """A tolerance sidecar or option that cannot be used; the message is one line that says what to write."""


@dataclass(frozen=True)
class FileTolerance:
    """The tolerance an entry is judged with, and where it came from (the row's tolerance_source)."""

    tolerance: Tolerance
    source: str  # DEFAULT, OPTION, or the sidecar's path


def parse_tolerance(text: str, where: str) -> Tolerance:
    """ "rtol=1e-3,atol=1e-5" (the option) as a Tolerance; a key left out keeps the default."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, number = part.partition("=")
        values[key.strip()] = _number(number, f"{where} {part!r}") if sep else math.nan
    return _tolerance(values, where, f"write e.g. {OPTION} 'rtol=1e-3,atol=1e-5'")


def tolerance_for(model: Path, folder: Path, root: Path, option: Tolerance | None) -> FileTolerance:
    """The nearest sidecar's tolerance for the entry `model` (its files in `folder`, found under
    `root`), else the option's, else the default.

    Raises:
        ToleranceError: a sidecar that is not a JSON object of non-negative rtol and atol.
    """
    for sidecar in _sidecars(model, folder, root):
        if sidecar.is_file():
            return FileTolerance(_read_sidecar(sidecar), str(sidecar))
    return FileTolerance(option, OPTION) if option is not None else FileTolerance(Tolerance(), DEFAULT)


def _sidecars(model: Path, folder: Path, root: Path) -> list[Path]:
    """Where a sidecar may be, nearest first: beside a bare file, in the entry's folder, then up to `root`."""
    found = [model.with_name(model.stem + ENTRY_SIDECAR_SUFFIX)] if model.suffix == ".onnx" else []
    here = folder.resolve()
    top = root.resolve()
    while True:
        found.append(here / SIDECAR)
        if here == top or top not in here.parents:
            return found
        here = here.parent


def _read_sidecar(path: Path) -> Tolerance:
    hint = 'write e.g. {"rtol": 1e-3, "atol": 1e-5}'
    if path.is_symlink() or path.stat().st_size > _MAX_SIDECAR_BYTES:
        raise ToleranceError(
            f"{path}: a tolerance sidecar is a small JSON file, not a link or {_MAX_SIDECAR_BYTES}+ bytes; {hint}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ToleranceError(f"{path}: not JSON ({exc}); {hint}") from None
    if not isinstance(data, dict):
        raise ToleranceError(f"{path}: expected a JSON object, got {type(data).__name__}; {hint}")
    values = {str(k): _number(v, f"{path} {k!r}") for k, v in data.items()}
    return _tolerance(values, str(path), hint)


def _number(value: object, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ToleranceError(f"{where}: {value!r} is not a number") from None
    return number


def _tolerance(values: dict[str, float], where: str, hint: str) -> Tolerance:
    unknown = sorted(set(values) - {"rtol", "atol"})
    if unknown:
        raise ToleranceError(f"{where}: unknown key {', '.join(unknown)} (rtol and atol only); {hint}")
    bad = [k for k, v in values.items() if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise ToleranceError(f"{where}: {', '.join(bad)} must be a finite number >= 0; {hint}")
    default = Tolerance()
    return Tolerance(atol=values.get("atol", default.atol), rtol=values.get("rtol", default.rtol))
