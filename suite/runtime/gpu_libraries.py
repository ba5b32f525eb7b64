"""The libraries GPU providers link against: loaded into the process, and reported in one line.

onnxruntime-gpu's CUDA and TensorRT provider libraries are loaded with dlopen and need CUDA, cuDNN
and TensorRT's own libraries. Installed as pip packages (nvidia-*, tensorrt-cu13-libs) those live in
site-packages, off the loader's path: loaded here first (as onnxruntime.preload_dlls does for CUDA),
the provider finds them by soname without LD_LIBRARY_PATH, in the pytest process and every worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.runtime.gpu import GPU_PROVIDERS

# TensorRT's libraries as tensorrt-cu13-libs installs them (site-packages/tensorrt_libs), in the order
# they depend on each other; onnxruntime-gpu 1.31/1.32's TensorRT provider needs libnvinfer and
# libnvonnxparser of TensorRT 10.
TENSORRT_PACKAGE_DIR = "tensorrt_libs"
TENSORRT_LIBRARIES = ("libnvinfer.so.10", "libnvinfer_plugin.so.10", "libnvonnxparser.so.10")
TENSORRT_REQUIREMENT = "tensorrt-cu13-libs>=10.13,<11"


def nvidia_lib_dirs(paths: Sequence[str] | None = None) -> list[str]:
    """lib folders of the nvidia-* pip packages (cuBLAS, cuDNN, CUDA runtime ...) on sys.path."""
    found: list[str] = []
    for entry in paths if paths is not None else sys.path:
        root = Path(entry or ".") / "nvidia"
        if not root.is_dir():
            continue
        for lib in sorted(root.glob("*/lib")) + sorted(root.glob("*/*/lib")):
            if lib.is_dir() and any(lib.glob("*.so*")) and str(lib) not in found:
                found.append(str(lib))
    return found


def tensorrt_lib_dirs(paths: Sequence[str] | None = None) -> list[str]:
    """Folders on sys.path (or `paths`) that hold TensorRT 10's libnvinfer, as its pip package lays them out."""
    found: list[str] = []
    for entry in paths if paths is not None else sys.path:
        folder = Path(entry or ".") / TENSORRT_PACKAGE_DIR
        if (folder / TENSORRT_LIBRARIES[0]).is_file() and str(folder) not in found:
            found.append(str(folder))
    return found


@functools.cache
def load_gpu_libraries(provider: str) -> None:
    """Load what `provider`'s library links against into this process, so onnxruntime finds it
    without LD_LIBRARY_PATH: CUDA and cuDNN from the nvidia-* packages (onnxruntime.preload_dlls),
    and TensorRT's libraries for the TensorRT provider. What cannot load is left to the provider's
    own error, which the fallback check reads."""
    if provider not in GPU_PROVIDERS:
        return
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            preload(cuda=True, cudnn=True)
    if provider == "TensorrtExecutionProvider":
        for folder in tensorrt_lib_dirs()[:1]:
            for name in TENSORRT_LIBRARIES:
                with contextlib.suppress(OSError):
                    ctypes.CDLL(str(Path(folder) / name), mode=ctypes.RTLD_GLOBAL)


def tensorrt_line(provider_library: Path | None, library_path: str) -> str:
    """One line on TensorRT's libraries: where libnvinfer resolves for the TensorRT provider's
    library (as `ldd` sees it with `library_path`), or which one is missing and how to get it."""
    if provider_library is None or not provider_library.is_file():
        return "TensorRT: this onnxruntime build has no TensorRT provider library"
    resolved = _ldd(provider_library, library_path)
    if resolved is None:
        return f"TensorRT: cannot check {provider_library.name}'s libraries here (no ldd)"
    needed = [name for name in resolved if name.startswith(("libnvinfer", "libnvonnxparser"))]
    if not needed:
        return f"TensorRT: {provider_library.name} links no TensorRT library"
    missing = [name for name in needed if resolved[name] is None]
    if missing:
        return (
            f"TensorRT: {', '.join(missing)} not found for {provider_library.name}; install "
            f"'{TENSORRT_REQUIREMENT}' (pip install -e '.[tensorrt]': its wheels come from https://pypi.nvidia.com)"
        )
    return "TensorRT: " + ", ".join(f"{name} => {resolved[name]}" for name in needed)


def _ldd(library: Path, library_path: str) -> dict[str, str | None] | None:
    """The shared libraries `library` needs and where the loader finds each (None: not found)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    env = {**os.environ, "LD_LIBRARY_PATH": library_path}
    listing = subprocess.run([ldd, str(library)], capture_output=True, text=True, env=env, check=False).stdout
    resolved: dict[str, str | None] = {}
    for line in listing.splitlines():
        name, arrow, where = line.strip().partition(" => ")
        if arrow:
            target = where.split(" (")[0].strip()
            resolved[name] = None if target == "not found" else target
    return resolved
