"""The timed artifacts of every run, kept by content, so a later run can time them against its own.

A latency row names the file it timed by sha256 (`artifact_sha256`); the file is kept once under
`<report dir>/artifacts/<first two hex digits>/<sha256>.onnx`, whichever runs timed it. The cache
may be emptied or outlive a torch upgrade; these files are what each run really measured.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# What a latency row's `ab_verdict` says where the baseline timed this very file: nothing to time against.
IDENTICAL = "identical artifact"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ArtifactStore:
    """Content-addressed .onnx files under `root`."""

    root: Path

    def keep(self, path: Path) -> str:
        """Keep a copy of the file (once per content) and return its sha256."""
        sha = file_sha256(path)
        target = self._path(sha)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
            partial.unlink(missing_ok=True)  # left by a process of this pid that died mid-copy
            try:  # the cache never rewrites a file, so a second name for it costs no space
                os.link(path, partial)
            except OSError:  # another filesystem, or links not allowed
                shutil.copyfile(path, partial)
            partial.replace(target)  # whole or not at all
        return sha

    def find(self, sha: str) -> Path | None:
        """The kept file of that content, or None where it is gone or no longer matches its name."""
        target = self._path(sha)
        if not target.is_file() or file_sha256(target) != sha:
            return None
        return target

    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / f"{sha}.onnx"


@dataclass(frozen=True)
class BaselineArtifacts:
    """What a baseline run timed, by case id: the candidate's latency cases are timed A/B against these."""

    run_id: str
    by_case: Mapping[str, str] = field(default_factory=dict)  # case id -> artifact sha256
