"""Profiles and the parsed selection a run works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from suite.exporters import EXPORTER_NAMES
from suite.paths import PATH_NAMES as PATHS
from suite.run.cases import SHAPE_MODES
from suite.run.transforms import CALIBRATION_METHODS
from zoo.corpus import MODULES as CORPUS_MODULES

CALIBRATIONS = tuple(CALIBRATION_METHODS)
# Every path but onnx2tf: its conversion (onnxsim first) took 10-45 s for the small default models and
# 110-430 s for deeplabv3, efficientnet_b0 and mobilenet_v3_small here, which across the default
# profile's 87 tf cases would more than double a night. The full profile and the onnx2tf
# profile (the default's models and exports through both TF converters, side by side) run it.
NIGHTLY_PATHS = tuple(p for p in PATHS if p != "onnx2tf")


def newest_dynamo_opset() -> int:
    """The newest opset the installed onnxscript can convert exports to.

    The torch.export-based exporter writes its native opset (18) and converts
    up with onnxscript's version converter, whose range ends here.
    """
    try:
        from onnxscript.version_converter import _version_converter

        return int(_version_converter.SUPPORTED_MAX_ONNX_OPSET)
    except (ImportError, AttributeError):
        return 18


# The newest opset the TorchScript-based exporter writes (torch.onnx._constants.
# ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET; tests/test_corpus.py checks the two agree). A constant, not
# read from torch: importing torch here cost every run's start about 3 s.
NEWEST_TORCHSCRIPT_OPSET = 20


@dataclass(frozen=True)
class Profile:
    """A named default selection."""

    name: str
    models: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    opsets: dict[str, tuple[int, ...]] = field(default_factory=dict)
    shapes: tuple[str, ...] = SHAPE_MODES
    paths: tuple[str, ...] = NIGHTLY_PATHS
    calibrations: tuple[str, ...] = ("minmax",)
    onnx_dirs: tuple[str, ...] = ()  # folders of ONNX files from outside (--zoo-onnx-dir adds to them)
    modules: tuple[str, ...] = ()  # modules of models the profile loads besides the built-in ones (--zoo-module adds)
    # Red cases each process triages unless --zoo-triage says (suite.run.triage): enough for a usual
    # night's red cells (the default profile has some 20, the corpus some 70 over its 2 processes, one
    # of which went past 40), while a night on which an upgrade turns everything red stays bounded
    # (about 15 s a case).
    triage: int = 40
    # Each worker process's memory budget in GB (suite.core.budget) unless --zoo-worker-memory-gb or
    # $ZOO_WORKER_MEMORY_GB says; None: the machine's memory less headroom, split between the parallel
    # pytest processes. A profile sets one where its models are known to need less than a shared
    # machine offers, or where the machine's total misleads (a container's cgroup limit).
    worker_memory_gb: float | None = None


def profiles() -> dict[str, Profile]:
    """The built-in profiles: quick for PR checks, default nightly, full for everything, onnx2tf for the
    default's exports through both TF converters side by side, corpus for breadth (the generated
    torchvision and transformers families, on the ort path, each exporter at its newest opset)."""
    newest = newest_dynamo_opset()
    dynamo_default = tuple(sorted({18, newest}))
    return {
        "quick": Profile(
            "quick",
            models=("mlp", "resnet18", "lstm", "keras_mlp"),
            opsets={"torchscript": (17,), "dynamo": (18,), "tf2onnx": (15,)},
            paths=("ort",),
        ),
        "default": Profile(
            "default",
            opsets={"torchscript": (11, 13, 15, 17), "dynamo": dynamo_default, "tf2onnx": (13, 15, 17)},
        ),
        "full": Profile(
            "full",
            paths=PATHS,
            opsets={
                "torchscript": (9, 11, 13, 14, 15, 16, 17, 18, 19, 20),
                "dynamo": tuple(range(18, newest + 1)),
                "tf2onnx": (11, 13, 15, 17, 18),
            },
            calibrations=CALIBRATIONS,
        ),
        "onnx2tf": Profile(
            "onnx2tf",
            opsets={"torchscript": (11, 13, 15, 17), "dynamo": dynamo_default, "tf2onnx": (13, 15, 17)},
            paths=("tf", "onnx2tf"),
        ),
        "corpus": Profile(
            "corpus",
            models=("tv_*", "hf_*"),
            opsets={"torchscript": (NEWEST_TORCHSCRIPT_OPSET,), "dynamo": (newest,)},
            paths=("ort",),
            modules=CORPUS_MODULES,
            triage=200,
        ),
    }


@dataclass(frozen=True)
class Selection:
    """What this run covers, after options override the profile."""

    profile: str
    models: tuple[str, ...]
    exclude: tuple[str, ...]
    opsets: dict[str, tuple[int, ...]]
    shapes: tuple[str, ...]
    paths: tuple[str, ...] = NIGHTLY_PATHS
    calibrations: tuple[str, ...] = ("minmax",)
    onnx_dirs: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()  # the profile's modules of models (the plugin adds --zoo-module's)

    def describe(self) -> str:
        opsets = "; ".join(
            f"{exp} op {','.join(map(str, ops))}" if ops else f"{exp} (each file's own opset)"
            for exp, ops in self.opsets.items()
        )
        exclude = f" excluding {','.join(self.exclude)}" if self.exclude else ""
        return (
            f"profile {self.profile}: models {','.join(self.models)}{exclude}; {opsets}; "
            f"shapes {','.join(self.shapes)}; paths {','.join(self.paths)}; calibration {','.join(self.calibrations)}"
        )


class SelectionError(ValueError):
    """An option value that cannot be used; the message says what would work."""


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_opsets(value: str, exporters: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """ "17,18" applies to every exporter; "torchscript:11,13;dynamo:18" sets each."""
    if ":" not in value:
        ops = _parse_ints(value)
        return {exp: ops for exp in exporters}
    result: dict[str, tuple[int, ...]] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        exp, _, ops = part.partition(":")
        exp = exp.strip()
        if exp not in EXPORTER_NAMES:
            raise SelectionError(
                f"--zoo-opsets names unknown exporter {exp!r}; choose from {', '.join(EXPORTER_NAMES)}"
            )
        result[exp] = _parse_ints(ops)
    return {exp: ops for exp, ops in result.items() if exp in exporters}


def _parse_ints(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in _split(value))
    except ValueError:
        raise SelectionError(f"opsets must be integers separated by commas, got {value!r}") from None


def make_selection(
    profile: str,
    models: str | None = None,
    exclude: str | None = None,
    exporters: str | None = None,
    opsets: str | None = None,
    shapes: str | None = None,
    paths: str | None = None,
    onnx_dirs: Sequence[str] = (),
) -> Selection:
    """Combine a profile with option overrides (each None keeps the profile's value)."""
    known = profiles()
    if profile not in known:
        raise SelectionError(f"unknown --zoo-profile {profile!r}; choose from {', '.join(known)}")
    base = known[profile]
    all_onnx_dirs = (*base.onnx_dirs, *onnx_dirs)
    # The files of an ONNX folder come with their own exporter (onnx) unless --zoo-exporters says otherwise.
    chosen_exporters = tuple(_split(exporters)) or (*base.opsets, *(["onnx"] if all_onnx_dirs else []))
    unknown = [e for e in chosen_exporters if e not in EXPORTER_NAMES]
    if unknown:
        raise SelectionError(f"unknown exporter {unknown[0]!r}; choose from {', '.join(EXPORTER_NAMES)}")
    opset_map = (
        parse_opsets(opsets, chosen_exporters) if opsets else {e: base.opsets.get(e, ()) for e in chosen_exporters}
    )
    if "onnx" in chosen_exporters:
        opset_map["onnx"] = ()  # each file at its own opset
    chosen_shapes = tuple(_split(shapes)) or base.shapes
    bad_shapes = [s for s in chosen_shapes if s not in SHAPE_MODES]
    if bad_shapes:
        raise SelectionError(f"unknown shape mode {bad_shapes[0]!r}; choose from {', '.join(SHAPE_MODES)}")
    chosen_paths = tuple(_split(paths)) or base.paths
    bad_paths = [p for p in chosen_paths if p not in PATHS]
    if bad_paths:
        raise SelectionError(f"unknown path {bad_paths[0]!r}; choose from {', '.join(PATHS)}")
    return Selection(
        profile=profile,
        paths=chosen_paths,
        calibrations=base.calibrations,
        models=tuple(_split(models)) or base.models,
        exclude=tuple(_split(exclude)) or base.exclude,
        opsets=opset_map,
        shapes=chosen_shapes,
        onnx_dirs=all_onnx_dirs,
        modules=base.modules,
    )
