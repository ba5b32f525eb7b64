"""TensorRT's engine cache: the engines a run builds, kept under its cache, one folder per content.

Building a TensorRT engine takes seconds to minutes per model and is redone by every new session
unless the provider is given a cache folder. TensorRT names engine files after the graph, not the
file's bytes, so one folder shared by two versions of a model could serve the older one's engine:
each folder here is keyed by what the engine is built from (the file's sha256, the session's graph
optimization level, the provider options and the onnxruntime build).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from suite.core.digest import file_sha256
from suite.runtime.providers import ProviderRequest, onnxruntime_version

TENSORRT = "TensorrtExecutionProvider"
ENGINE_CACHE_DIR = "tensorrt"  # under the run's cache root
# Options a user may set in --zoo-providers to place the cache themselves: then it is left alone.
_USER_PLACED = ("trt_engine_cache_enable", "trt_engine_cache_path")


def engine_folder(root: Path, model: Path, request: ProviderRequest, level: str | None) -> Path:
    """The cache folder for `model`'s engines on `request` at graph optimization `level`."""
    parts = {
        "sha256": file_sha256(model),
        "level": level or "default",
        "options": sorted(request.options),
        "onnxruntime": onnxruntime_version(),
    }
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return root / ENGINE_CACHE_DIR / key


def with_engine_cache(request: ProviderRequest, root: Path, model: Path, level: str | None = None) -> ProviderRequest:
    """`request` with TensorRT's engine and timing caches in `model`'s folder under `root`; any other
    provider, or a TensorRT request that places its cache itself, comes back as it was."""
    if request.name != TENSORRT or any(key in dict(request.options) for key in _USER_PLACED):
        return request
    folder = engine_folder(root, model, request, level)
    folder.mkdir(parents=True, exist_ok=True)
    cache = (
        ("trt_engine_cache_enable", "True"),
        ("trt_engine_cache_path", str(folder)),
        ("trt_timing_cache_enable", "True"),
        ("trt_timing_cache_path", str(folder)),
    )
    return ProviderRequest(request.name, (*request.options, *cache))
