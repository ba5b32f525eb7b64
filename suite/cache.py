"""On-disk cache of exports and eager reference outputs, addressed by content keys.

A key hashes everything that determines the result (model name, weights digest,
exporter, opset, shape mode, library versions), so a rerun reuses earlier work
and a change to any of them misses. Deterministic failures are cached too, so
a warm run repeats no export at all. Writes are atomic (temp file + rename),
which keeps parallel pytest-xdist workers from reading half-written files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Bump when export or reference code changes what it writes.
CACHE_FORMAT = 1


def content_key(**parts: Any) -> str:
    """A short stable hash of keyword parts."""
    blob = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class CachedOutcome:
    """What a cached step ended in: status "ok" or a failure status plus its message."""

    status: str
    message: str = ""
    detail: str = ""
    seconds: float = 0.0
    output_names: tuple[str, ...] = ()


class Cache:
    """The cache folder: exports/ and references/ beneath `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "exports").mkdir(parents=True, exist_ok=True)
        (root / "references").mkdir(parents=True, exist_ok=True)

    def export_path(self, key: str) -> Path:
        return self.root / "exports" / f"{key}.onnx"

    def scratch_path(self, key: str) -> Path:
        """Where a worker writes an export before it is accepted into the cache."""
        return self.root / "exports" / f"{key}.onnx.tmp-{os.getpid()}"

    def load_export(self, key: str) -> CachedOutcome | None:
        """The cached export outcome, or None when absent or its file went missing."""
        outcome = self._load_json(self.root / "exports" / f"{key}.json")
        if outcome is None or (outcome.status == "ok" and not self.export_path(key).is_file()):
            return None
        return outcome

    def store_export(self, key: str, outcome: CachedOutcome, scratch: Path | None = None) -> None:
        if scratch is not None:
            os.replace(scratch, self.export_path(key))
        self._write_json(self.root / "exports" / f"{key}.json", outcome)

    def load_reference(self, key: str) -> tuple[CachedOutcome, list[np.ndarray]] | None:
        outcome = self._load_json(self.root / "references" / f"{key}.json")
        if outcome is None:
            return None
        if outcome.status != "ok":
            return outcome, []
        path = self.root / "references" / f"{key}.npz"
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return outcome, [data[f"out{i}"] for i in range(len(data.files))]

    def store_reference(self, key: str, outcome: CachedOutcome, outputs: Sequence[np.ndarray]) -> None:
        if outcome.status == "ok":
            path = self.root / "references" / f"{key}.npz"
            tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npz")
            np.savez(tmp, **{f"out{i}": arr for i, arr in enumerate(outputs)})
            os.replace(tmp, path)
        self._write_json(self.root / "references" / f"{key}.json", outcome)

    @staticmethod
    def _load_json(path: Path) -> CachedOutcome | None:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        data["output_names"] = tuple(data.get("output_names", ()))
        return CachedOutcome(**data)

    @staticmethod
    def _write_json(path: Path, outcome: CachedOutcome) -> None:
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(outcome.__dict__, default=list))
        os.replace(tmp, path)
