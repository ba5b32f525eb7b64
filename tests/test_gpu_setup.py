"""The offline GPU check: it refuses an incomplete setup, saying what is missing, and finds the CUDA libraries."""

import subprocess
import sys
from pathlib import Path

from suite.runtime.gpu_libraries import nvidia_lib_dirs

ROOT = Path(__file__).resolve().parent.parent


def test_an_incomplete_setup_is_refused_with_every_problem_named() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "suite.cli.gpu_setup", "--print-env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # This machine has neither a GPU nor onnxruntime-gpu.
    assert done.returncode == 1 and done.stdout == ""
    assert "the GPU latency check cannot run here:" in done.stderr
    assert "torch sees no GPU" in done.stderr and "not CUDAExecutionProvider" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_module_is_named_with_what_to_install() -> None:
    code = "import sys; sys.modules['pytest_benchmark'] = None; from suite.cli.gpu_setup import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "cannot import pytest_benchmark" in done.stderr and "pytest-benchmark>=5.3,<6" in done.stderr


def test_nvidia_lib_folders_are_found_on_the_path(tmp_path: Path) -> None:
    for package in ("cublas", "cudnn", "cuda_runtime"):
        lib = tmp_path / "nvidia" / package / "lib"
        lib.mkdir(parents=True)
        (lib / f"lib{package}.so.13").write_bytes(b"")
    (tmp_path / "nvidia" / "empty" / "lib").mkdir(parents=True)  # no libraries: not a library folder
    found = nvidia_lib_dirs([str(tmp_path), "/nonexistent"])
    assert [Path(p).parent.name for p in found] == ["cublas", "cuda_runtime", "cudnn"]
