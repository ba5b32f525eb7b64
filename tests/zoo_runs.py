"""A real run of the zoo matrix in a pytester subprocess, its reports and cache under one folder."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_matrix(pytester: pytest.Pytester, folder: Path, *args: str, timeout: float = 600) -> pytest.RunResult:
    """suite/matrix with `args`; reports in folder/reports, the cache in folder/cache, no history."""
    return pytester.runpytest_subprocess(
        str(ROOT / "suite" / "matrix"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        f"--zoo-report-dir={folder / 'reports'}",
        f"--zoo-cache-dir={folder / 'cache'}",
        "--zoo-history=none",
        *args,
        timeout=timeout,
    )
