"""The paths a prepared export can take, one module each, listed here in run and report order.

A path module declares PATH (suite.paths.declaration.PathSpec): its name, title, how its cases
are drawn from the selection and how a case runs. A new path is a module here, its entry in
PATHS, its worker code and its test module in suite/matrix.
"""

from __future__ import annotations

from suite.paths import latency, onnx2tf, optimize, ort, quantize, tf, version
from suite.paths.declaration import PathSpec

PATHS: tuple[PathSpec, ...] = (
    ort.PATH,
    tf.PATH,
    onnx2tf.PATH,
    version.PATH,
    optimize.PATH,
    quantize.PATH,
    latency.PATH,
)
PATH_NAMES: tuple[str, ...] = tuple(p.name for p in PATHS)


def path_named(name: str) -> PathSpec:
    for path in PATHS:
        if path.name == name:
            return path
    raise KeyError(f"unknown path {name!r}; choose from {', '.join(PATH_NAMES)}")
