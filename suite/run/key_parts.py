"""What a cached result depends on besides the case's own fields: the versions of the libraries that
decide a framework's results, and the source of the model's builder. Every cache key carries them,
so a new library version or a changed forward() misses the cache."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
from pathlib import Path

from suite.runtime.providers import onnxruntime_version
from zoo.spec import ModelSpec

# Library versions that decide a framework's results, part of every cache key.
FRAMEWORK_LIBRARIES = {
    "torch": ("torch", "torchvision", "transformers", "onnxscript"),
    "keras": ("tensorflow", "tf-keras", "keras", "tf2onnx"),
    "tf": ("tensorflow", "onnx-tf", "tf2onnx", "onnx"),
    "onnx": ("onnx", "onnxruntime", "onnxscript"),
}


def library_version(name: str) -> str:
    if name == "onnxruntime":  # whichever flavour provides the module: their transforms differ
        return onnxruntime_version()
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def code_digest(spec: ModelSpec) -> str:
    """Digest of the file that defines the model's builder: a changed forward() with the same weights
    must not reuse a cached export or eager reference."""
    try:
        source = inspect.getsourcefile(spec.builder)
    except TypeError:  # a builder without a source file (a C function, a REPL lambda)
        return "no-source"
    return _file_digest(source) if source and Path(source).is_file() else "no-source"
