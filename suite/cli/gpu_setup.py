"""Is this interpreter ready for the GPU latency check? And where are its CUDA libraries?

For a GPU machine without a package registry: an existing interpreter with torch
(its CUDA libraries come as nvidia-* pip packages) and onnxruntime-gpu (installed,
or from a local wheel put first on PYTHONPATH by scripts/gpu_offline.sh).

    python -m suite.cli.gpu_setup              # report; exit 1 with every problem listed
    eval "$(python -m suite.cli.gpu_setup --print-env)"   # LD_LIBRARY_PATH for the run, or exit 1

onnxruntime-gpu's CUDA provider is loaded with dlopen and finds cuBLAS, cuDNN and the
CUDA runtime through the library path: the nvidia-* packages' lib folders go there,
for the pytest process and every worker it starts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.cli.pipes import quiet_on_closed_pipe
from suite.runtime.environment import benchmark_version_problem
from suite.runtime.gpu_libraries import nvidia_lib_dirs, tensorrt_lib_dirs, tensorrt_line
from suite.runtime.providers import ProviderRequest, provider_library

# Module -> what to install when it is missing.
REQUIRED = {
    "torch": "torch with CUDA (the image's)",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime-gpu (a local wheel: WHEELS=folder scripts/gpu_offline.sh)",
    "onnxscript": "onnxscript",
    "numpy": "numpy",
    "pandas": "pandas",
    "jinja2": "jinja2",
    "scipy": "scipy",
    "matplotlib": "matplotlib",
    "pytest": "pytest",
    "pytest_benchmark": "pytest-benchmark>=5.3,<6 (a wheel of it where no registry is reachable)",
}
GPU_PROVIDER = "CUDAExecutionProvider"


def problems() -> list[str]:
    """Everything that stops the GPU latency check here, one line each (empty: ready)."""
    found = []
    for module, package in REQUIRED.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            found.append(f"cannot import {module} ({exc}); install {package}")
    if found:
        return found
    problem = benchmark_version_problem()
    if problem:
        found.append(problem)
    import onnxruntime as ort
    import torch

    if not torch.cuda.is_available():
        found.append("torch sees no GPU (torch.cuda.is_available() is False): the eager baseline needs one")
    if GPU_PROVIDER not in ort.get_available_providers():
        found.append(
            f"onnxruntime {ort.__version__} from {Path(ort.__file__).parent} offers {ort.get_available_providers()}, "
            f"not {GPU_PROVIDER}: put onnxruntime-gpu first on PYTHONPATH"
        )
    elif not nvidia_lib_dirs():
        found.append("no nvidia-* pip packages (CUDA, cuDNN libraries) on sys.path; install torch's CUDA build")
    return found


def library_path() -> str:
    """LD_LIBRARY_PATH with the nvidia and TensorRT lib folders first."""
    current = os.environ.get("LD_LIBRARY_PATH", "")
    return ":".join([*nvidia_lib_dirs(), *tensorrt_lib_dirs(), *([current] if current else [])])


def tensorrt_report() -> str:
    """The one line on TensorRT's libraries for the installed onnxruntime (see tensorrt_line)."""
    try:
        library = provider_library(ProviderRequest("TensorrtExecutionProvider"))
    except ImportError:
        return "TensorRT: onnxruntime does not import"
    return tensorrt_line(library if library.is_file() else None, library_path())


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.cli.gpu_setup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--print-env", action="store_true", help="print `export LD_LIBRARY_PATH=...` when ready")
    args = parser.parse_args(argv)
    found = problems()
    # TensorRT is optional (CUDA is what the check needs): its line is said, never a problem. With
    # --print-env stdout is for `eval`, so the line goes to stderr.
    print(tensorrt_report(), file=sys.stderr if args.print_env or found else sys.stdout)
    if found:
        print("the GPU latency check cannot run here:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if args.print_env:
        print(f"export LD_LIBRARY_PATH='{library_path()}'")
    else:
        import onnxruntime as ort
        import torch

        device = torch.cuda.get_device_name(0)
        offered = ", ".join(ort.get_available_providers())
        print(f"ready: torch {torch.__version__} on {device}; onnxruntime {ort.__version__} offers {offered}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
