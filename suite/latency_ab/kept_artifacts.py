"""The timed artifacts of every run, kept by content, so a later run can time them against its own.

A latency row names the file it timed by sha256 (`artifact_sha256`); the file is kept once under
`<report dir>/artifacts/<first two hex digits>/<sha256>.onnx`, whichever runs timed it. The cache
may be emptied or outlive a torch upgrade; these files are what each run really measured.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from suite.core.digest import file_sha256

# A run folder's own copies of the files it timed (and a report folder's store): <folder>/artifacts.
ARTIFACTS_DIR = "artifacts"
# What a latency row's `ab_verdict` says where the baseline timed this very file: nothing to time against.
IDENTICAL = "identical artifact"


@dataclass(frozen=True)
class ArtifactStore:
    """Content-addressed .onnx files under `root`."""

    root: Path

    def keep(self, path: Path) -> str:
        """Keep a copy of the file (once per content) and return its sha256."""
        sha = file_sha256(path)
        self._place(path, sha)
        return sha

    def _place(self, path: Path, sha: str) -> None:
        """`path`, whose content hashes to `sha`, kept under that name unless it is there already."""
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

    def find(self, sha: str) -> Path | None:
        """The kept file of that content, or None where it is gone or no longer matches its name."""
        target = self._path(sha)
        if not target.is_file() or file_sha256(target) != sha:
            return None
        return target

    def copy_to(self, shas: Iterable[str], target: ArtifactStore) -> int:
        """Keep these files in `target` too (a run folder's own artifacts/, so the folder carries what
        it timed wherever it is copied); returns how many were there to keep."""
        kept = 0
        for sha in dict.fromkeys(shas):
            found = self.find(sha)  # verified against its name: no second hash to keep it there
            if found is not None:
                target._place(found, sha)
                kept += 1
        return kept

    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / f"{sha}.onnx"


@dataclass(frozen=True)
class BaselineArtifacts:
    """What a baseline run timed, by case id: the candidate's latency cases are timed A/B against these."""

    run_id: str
    by_case: Mapping[str, str] = field(default_factory=dict)  # case id -> artifact sha256
    # Where the baseline's files may be, searched in order: its run folders' own artifacts/ (a
    # folder copied or downloaded from another machine carries them), then their report folders'.
    stores: tuple[ArtifactStore, ...] = ()

    def find(self, sha: str, also: ArtifactStore) -> Path | None:
        """The baseline's file of that content: in its own stores, else in `also` (this run's)."""
        for store in (*self.stores, also):
            found = store.find(sha)
            if found is not None:
                return found
        return None

    def looked_in(self, also: ArtifactStore) -> str:
        return ", ".join(str(store.root) for store in (*self.stores, also))
