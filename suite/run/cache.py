"""On-disk cache of exports and eager reference outputs, addressed by content keys.

A key hashes everything that determines the result (model name, weights digest,
exporter, opset, shape mode, library versions), so a rerun reuses earlier work
and a change to any of them misses. Deterministic failures are cached too, so
a warm run repeats no export at all. Writes are atomic (temp file + rename),
which keeps parallel pytest-xdist workers from reading half-written files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Bump when export or reference code changes what it writes. 3: every payload carries its sha256,
# so entries of earlier formats, which cannot be verified, are not reused.
CACHE_FORMAT = 3


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
    extra: dict[str, Any] = field(default_factory=dict)
    # For a failure raised in a worker: {"stage", "type_name", "message", "traceback"}, kept
    # so a later run classifies it under the rules of that run, not those of the run that cached it.
    cause: dict[str, str] | None = None
    # sha256 of the payload as it was stored: a payload that no longer matches it (truncated by a
    # full disk, changed by an outside hand) is discarded and made again, never judged.
    payload_sha256: str = ""


class CacheEntryDamaged(UserWarning):
    """A cache entry did not match what was stored; it was discarded and its step runs again."""


def _payload_files(payload: Path) -> list[Path]:
    """The file, or a folder's files in sorted order."""
    return sorted(p for p in payload.rglob("*") if p.is_file()) if payload.is_dir() else [payload]


def remove_payload(payload: Path) -> None:
    """A payload file or folder (or a scratch one) removed, where it is there."""
    if payload.is_dir():
        shutil.rmtree(payload, ignore_errors=True)
    else:
        payload.unlink(missing_ok=True)


def payload_digest(payload: Path) -> str:
    """sha256 of a file, or of a folder's files (relative paths and contents, in sorted order)."""
    digest = hashlib.sha256()
    for path in _payload_files(payload):
        if payload.is_dir():
            digest.update(str(path.relative_to(payload)).encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class Cache:
    """The cache folder: one subfolder per kind of result (exports, references, ...).

    Each entry is `<kind>/<key>.json` (the outcome) plus, for successful steps,
    a payload: a file or folder `<kind>/<key><suffix>`, or arrays in `<key>.npz`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._verified: dict[tuple[object, ...], str] = {}
        root.mkdir(parents=True, exist_ok=True)

    def _dir(self, kind: str) -> Path:
        path = self.root / kind
        path.mkdir(exist_ok=True)
        return path

    def path(self, kind: str, key: str, suffix: str) -> Path:
        """Where the payload of an entry lives (suffix ".onnx", "" for a folder, ...)."""
        return self._dir(kind) / f"{key}{suffix}"

    def scratch_path(self, kind: str, key: str, suffix: str) -> Path:
        """Where a worker writes a payload before it is accepted into the cache."""
        return self._dir(kind) / f"{key}{suffix}.tmp-{os.getpid()}"

    def load(self, kind: str, key: str, suffix: str | None = None) -> CachedOutcome | None:
        """The cached outcome, or None when absent, or when its payload went missing or no longer
        matches its stored sha256 (the entry is then discarded, with a CacheEntryDamaged warning).
        """
        outcome = self._load_json(self._dir(kind) / f"{key}.json")
        if outcome is None or outcome.status != "ok" or suffix is None:
            return outcome
        payload = self.path(kind, key, suffix)
        if not payload.exists():
            self._discard(kind, key, suffix, "its file is missing")
            return None
        if outcome.payload_sha256 and self._digest(payload) != outcome.payload_sha256:
            self._discard(kind, key, suffix, "its file no longer matches the sha256 stored with it")
            return None
        return outcome

    def _digest(self, payload: Path) -> str:
        """sha256 of a payload, once per process while its files' sizes and mtimes stay the same."""
        stats = [(str(f), f.stat()) for f in _payload_files(payload)]
        memo = (str(payload), *((name, stat.st_size, stat.st_mtime_ns) for name, stat in stats))
        if memo not in self._verified:
            self._verified[memo] = payload_digest(payload)
        return self._verified[memo]

    def _discard(self, kind: str, key: str, suffix: str, why: str) -> None:
        """Remove a damaged entry and warn, in the one process that claims it.

        Two xdist workers may find the same damage at once: the entry's record is claimed by an
        atomic rename, so only one of them warns and deletes. A record claimed after another
        process already made the entry again is intact: it is put back, without a warning.
        """
        record = self._dir(kind) / f"{key}.json"
        claimed = record.with_name(f"{record.name}.damaged-{os.getpid()}")
        try:
            os.replace(record, claimed)
        except FileNotFoundError:
            return  # another process discarded it (and said so)
        payload = self.path(kind, key, suffix)
        outcome = self._load_json(claimed)
        intact = outcome is not None and outcome.payload_sha256 and payload.exists()
        if intact and payload_digest(payload) == outcome.payload_sha256:
            os.replace(claimed, record)  # made again meanwhile; the caller makes it once more, harmlessly
            return
        warnings.warn(
            CacheEntryDamaged(f"cache entry {kind}/{key}{suffix} was damaged ({why}): discarded, it is made again"),
            stacklevel=3,
        )
        remove_payload(payload)
        claimed.unlink(missing_ok=True)

    def store(
        self, kind: str, key: str, outcome: CachedOutcome, scratch: Path | None = None, suffix: str = ""
    ) -> CachedOutcome:
        """Record an outcome, moving a successful step's payload from `scratch` into place, with its sha256."""
        if scratch is not None:
            target = self.path(kind, key, suffix)
            if scratch.is_dir() and target.exists():
                shutil.rmtree(scratch)  # another xdist worker got there first; same content
            else:
                os.replace(scratch, target)
            outcome = dataclasses.replace(outcome, payload_sha256=payload_digest(target))
        self._write_json(self._dir(kind) / f"{key}.json", outcome)
        return outcome

    def load_arrays(self, kind: str, key: str) -> tuple[CachedOutcome, list[np.ndarray]] | None:
        """A cached outcome with its arrays (empty for a failure)."""
        outcome = self.load(kind, key, ".npz")
        if outcome is None:
            return None
        if outcome.status != "ok":
            return outcome, []
        try:
            with np.load(self.path(kind, key, ".npz"), allow_pickle=False) as data:
                return outcome, [data[f"out{i}"] for i in range(len(data.files))]
        except (OSError, ValueError, zipfile.BadZipFile) as exc:  # an entry without a sha256, damaged
            self._discard(kind, key, ".npz", f"its arrays cannot be read: {type(exc).__name__}")
            return None

    def store_arrays(self, kind: str, key: str, outcome: CachedOutcome, arrays: Sequence[np.ndarray]) -> None:
        scratch = None
        if outcome.status == "ok":
            scratch = self._dir(kind) / f"{key}.tmp-{os.getpid()}.npz"
            np.savez(scratch, **{f"out{i}": arr for i, arr in enumerate(arrays)})
        self.store(kind, key, outcome, scratch, ".npz")

    @staticmethod
    def _load_json(path: Path) -> CachedOutcome | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            claimed = path.with_name(f"{path.name}.unreadable-{os.getpid()}")
            try:
                os.replace(path, claimed)  # one process warns, as in _discard
            except FileNotFoundError:
                return None
            claimed.unlink(missing_ok=True)
            warnings.warn(CacheEntryDamaged(f"cache entry {path} cannot be read: made again"), stacklevel=3)
            return None
        data["output_names"] = tuple(data.get("output_names", ()))
        return CachedOutcome(**data)

    @staticmethod
    def _write_json(path: Path, outcome: CachedOutcome) -> None:
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(outcome.__dict__, default=list))
        os.replace(tmp, path)
