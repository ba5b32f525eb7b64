"""onnx2tf: the export through the maintained ONNX -> TensorFlow converter, every hop against eager.

onnx2tf converts the export into a SavedModel, run in TensorFlow on every probe (hop `onnx2tf`),
and into float32 and float16 TFLite files, run with the LiteRT interpreter (`tflite_float32`,
`tflite_float16`); tf2onnx converts the SavedModel back to ONNX at the case's opset and ONNX
Runtime runs it (`tf2onnx`). The three after the conversion are independent of each other: each
runs, and the row's status is the first that fails. onnx2tf's models read and write channels-last:
inputs are transposed going in and outputs back coming out (suite.judge.layout), and the row's
`onnx2tf_layout` says which. The float16 file is judged by its own floor (suite.run.half_floor).
TensorFlow, onnx2tf and LiteRT run in the TF worker, never in this process.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from suite.core.outcome import Outcome, Trail
from suite.core.record import Status
from suite.judge.hops import HopResult, ReferenceAt, judge_sizes
from suite.judge.inputs import Probe
from suite.judge.layout import InputLayout, Layout, OutputLayout
from suite.paths.declaration import PathSpec
from suite.paths.steps import converters_judged, hop_from_outcome, not_run
from suite.run.cache import CachedOutcome, content_key
from suite.run.cases import Case, Draw, build_matrix
from suite.run.half_floor import half_weight_references
from suite.run.key_parts import library_version
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.runtime.sessions import run_session, session_from_artifact
from suite.workers.onnx2tf_convert import (  # noqa: TID251 - named for runner.call
    onnx2tf_convert,
    saved_model_run,
    tflite_run,
)
from suite.workers.tf2onnx_convert import tf2onnx_from_saved_model  # noqa: TID251 - named for runner.call

# The packages the path needs beyond the TF worker's (installed with --no-deps: onnx2tf pins old
# versions of everything; requirements/onnx2tf.txt).
PACKAGES = ("onnx2tf", "onnxsim", "ai-edge-litert", "onnx-graphsurgeon", "sng4onnx")
HOPS = ("onnx2tf", "tf2onnx", "tflite_float32", "tflite_float16")
# The converter whose work each hop judges, for a triage's blame.
_HOP_TOOLS = {"onnx2tf": "onnx2tf", "tf2onnx": "tf2onnx", "tflite_float32": "onnx2tf", "tflite_float16": "onnx2tf"}
_REFUSED_OP = re.compile(r"\b([A-Za-z][A-Za-z0-9]*) OP is not yet implemented")


def draw_cases(draw: Draw) -> list[Case]:
    """One shape mode per model (dynamic where it has dynamic dims), as the tf path."""
    return build_matrix(draw, "onnx2tf", "onnx2tf", one_shape=True)


def installed() -> bool:
    return all(importlib.util.find_spec(module) is not None for module in ("onnx2tf", "ai_edge_litert"))


def refused_op(message: str) -> str | None:
    """The ONNX op onnx2tf has no converter for, from its error ("Foo OP is not yet implemented")."""
    found = _REFUSED_OP.search(message)
    return found.group(1) if found else None


def run_onnx2tf(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
    """onnx2tf -> SavedModel (TF), TFLite float32/float16 (LiteRT), SavedModel -> tf2onnx -> ONNX Runtime."""
    trail.enter("onnx2tf")
    if not installed():
        raise StageFailure(
            Status.SKIP,
            "onnx2tf is not installed here: pip install --no-deps -r requirements/onnx2tf.txt (make does)",
        )
    outcome, folder, key = _converted(runner, prepared, None)
    if folder is not None:
        hops, files = _hops(runner, case, prepared, outcome, folder, key)
        return _judged(trail, hops, prepared, *files)
    conversion = hop_from_outcome(outcome)
    op = refused_op(outcome.message)
    if op is not None:
        conversion = replace(conversion, extra={**conversion.extra, "failed_op": op})
    if case.dynamic and op is None:  # onnx2tf's own advice: fix the dynamic dims (-ois) and try again
        return _with_fixed_shapes(runner, case, trail, prepared, conversion)
    later = [(hop, not_run("onnx2tf failed")) for hop in HOPS[1:]]
    return _judged(trail, [("onnx2tf", conversion), *later], prepared)


def _converted(
    runner: CaseRunner, prepared: Prepared, fixed: Mapping[str, list[int]] | None
) -> tuple[CachedOutcome, Path | None, str]:
    """onnx2tf's conversion of the export (with its inputs fixed to `fixed` dims), through the cache."""
    versions = {**runner.versions("tf"), **{p: library_version(p) for p in PACKAGES}}
    key = content_key(kind="onnx2tf", export=prepared.export_key, fixed=fixed, **versions)
    source = str(prepared.artifact.path)
    outcome, folder = runner.cached_step(
        "onnx2tf", key, "", lambda scratch: runner.call("tf", "onnx2tf", onnx2tf_convert, source, str(scratch), fixed)
    )
    return outcome, folder, key


def _with_fixed_shapes(
    runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared, conversion: HopResult
) -> Outcome:
    """A dynamic export onnx2tf could not convert, converted again with every input fixed to the
    export's own size, as onnx2tf's error advises: the row stays red (the dynamic export does not
    convert) and says whether the fixed one does and how its hops went, at that size only."""
    home = prepared.probes[0]
    fixed = {name: list(np.shape(value)) for name, value in home.inputs(prepared.spec).items()}
    shown = ", ".join(f"{name}:{','.join(map(str, dims))}" for name, dims in fixed.items())
    outcome, folder, key = _converted(runner, prepared, fixed)
    if folder is None:
        message = f"{conversion.message}; with its inputs fixed to {shown} (overwrite_input_shape) it fails too"
        later = [(hop, not_run("onnx2tf failed")) for hop in HOPS[1:]]
        return _judged(trail, [("onnx2tf", conversion.failed(conversion.status, message)), *later], prepared)
    at_home = replace(prepared, probes=tuple(p for p in prepared.probes if p.dims == home.dims))
    hops, files = _hops(runner, case, at_home, outcome, folder, key)
    went = ", ".join(f"{name} {hop.status.value}" for name, hop in hops)
    message = (
        f"cannot convert the dynamic export ({conversion.message}); with its inputs fixed to {shown} "
        f"(overwrite_input_shape) it converts, at {home.label}: {went}"
    )
    saved = hops[0][1]
    failed = saved.failed(conversion.status, message)
    failed = replace(failed, extra={**saved.extra, "fixed_shapes": shown, "fixed_status": saved.status.value})
    later = [(name, replace(hop, extra={**hop.extra, "fixed_shapes": shown})) for name, hop in hops[1:]]
    return _judged(trail, [("onnx2tf", failed), *later], prepared, *files)


def _hops(
    runner: CaseRunner, case: Case, prepared: Prepared, outcome: CachedOutcome, folder: Path, key: str
) -> tuple[list[tuple[str, HopResult]], tuple[tuple[str, Path | None], ...]]:
    """Every hop after a conversion (its SavedModel in TensorFlow, tf2onnx's round trip, the TFLite
    files), and the files they read, for a triage's repro."""
    layout = _layout(outcome.extra)
    facts = {"seconds_convert": round(outcome.seconds, 3), "layout": layout.describe_inputs() or "as is"}
    saved = _tf_hop(
        prepared,
        layout,
        "TensorFlow (onnx2tf's SavedModel)",
        lambda feeds: runner.call("tf", "onnx2tf", saved_model_run, str(folder), feeds),
        prepared.reference_at,
    )
    saved = replace(saved, seconds=outcome.seconds, extra={**saved.extra, **facts})
    tflite = {}
    for precision, bounds in (
        ("float32", prepared.reference_at),
        ("float16", half_weight_references(runner, prepared)),
    ):
        name = outcome.extra.get("tflite", {}).get(precision)
        hop = f"tflite_{precision}"
        if name is None:
            tflite[hop] = HopResult().failed(Status.EXPORT_ERROR, f"onnx2tf wrote no {precision} TFLite file")
            continue
        path = str(Path(folder, name))
        tflite[hop] = _tf_hop(
            prepared,
            layout,
            f"LiteRT ({precision} TFLite)",
            lambda feeds, path=path, hop=hop: runner.call("tf", hop, tflite_run, path, feeds),
            bounds,
        )
    tf2onnx, converted = _round_trip(runner, case, prepared, layout, folder, key)
    hops = [("onnx2tf", saved), ("tf2onnx", tf2onnx), *tflite.items()]
    return hops, (("saved_model", folder), ("converted.onnx", converted))


def _layout(extra: Mapping[str, Any]) -> Layout:
    """The conversion's facts (suite.workers.onnx2tf_convert) as a Layout."""
    inputs = tuple(InputLayout(i["name"], i["tf_name"], tuple(i["perm"])) for i in extra.get("inputs", ()))
    outputs = tuple(OutputLayout(o["name"], o["tf_name"], o["channels_last"]) for o in extra.get("outputs", ()))
    return Layout(inputs, outputs)


def _tf_hop(
    prepared: Prepared,
    layout: Layout,
    label: str,
    run: Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]],
    reference_at: ReferenceAt,
) -> HopResult:
    """A converted model run on every probe, fed and read in ONNX layout, judged against eager.

    A worker crash, timeout or allocation over budget keeps its own status (judge_sizes would read
    any exception as the runner's error)."""
    moved: set[str] = set()
    stopped: list[StageFailure] = []

    def run_at(probe: Probe) -> tuple[Sequence[str], Sequence[np.ndarray]]:
        try:
            produced = run(layout.feeds(probe.inputs(prepared.spec)))
        except StageFailure as failure:
            if failure.status in (Status.CRASH, Status.TIMEOUT, Status.SKIP):
                stopped.append(failure)
            raise
        # The float32 reference's shapes (cached since the export stage): never a worker call in here,
        # where judge_sizes reads any exception as the runner's.
        shapes = [np.shape(o) for o in prepared.reference_at(probe).outputs]
        names, outputs, notes = layout.outputs_in_onnx_layout(produced, shapes)
        moved.update(notes)
        return names, outputs

    hop = judge_sizes(prepared.spec, prepared.probes, run_at, reference_at, None, label)
    if stopped:
        hop = hop.failed(stopped[0].status, f"{label}: {stopped[0].message}")
    return replace(hop, extra={**hop.extra, "outputs_moved": "; ".join(sorted(moved))}) if moved else hop


def _round_trip(
    runner: CaseRunner, case: Case, prepared: Prepared, layout: Layout, folder: Path, onnx2tf_key: str
) -> tuple[HopResult, Path | None]:
    """tf2onnx on onnx2tf's SavedModel at the case's opset, then ONNX Runtime on the result (which
    reads the SavedModel's channels-last inputs under the ONNX names tf2onnx_from_saved_model restores)."""
    key = content_key(kind="tf2onnx", saved=onnx2tf_key, opset=case.opset, run="in_worker", **runner.versions("tf"))
    outcome, converted = runner.cached_step(
        "tf2onnx",
        key,
        ".onnx",
        lambda scratch: runner.call("tf", "tf2onnx", tf2onnx_from_saved_model, str(folder), str(scratch), case.opset),
    )
    if converted is None:
        return hop_from_outcome(outcome), None
    try:
        session = session_from_artifact(converted, "cpu")
    except Exception as exc:  # noqa: BLE001 - any session failure is this hop's verdict
        return HopResult().failed(Status.RUNTIME_ERROR, f"ORT session creation failed: {exc}"), converted
    # Feeds come keyed by the SavedModel's input names: back to the ONNX names tf2onnx_from_saved_model
    # restored, then to the file's own name for one it could match only by elimination.
    to_onnx = {i.fed_as: i.name for i in layout.inputs}
    in_file: Mapping[str, str] = outcome.extra.get("input_names", {})

    def run(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        named = {to_onnx.get(k, k): v for k, v in feeds.items()}
        names, outputs = run_session(session, {in_file.get(k, k): v for k, v in named.items()})
        return dict(zip(names, outputs, strict=True))

    hop = _tf_hop(prepared, layout, "ONNX Runtime (tf2onnx round trip)", run, prepared.reference_at)
    return replace(hop, seconds=outcome.seconds, extra={**hop.extra, "opset": outcome.extra.get("opset")}), converted


def _judged(
    trail: Trail, hops: Sequence[tuple[str, HopResult]], prepared: Prepared, *files: tuple[str, Path | None]
) -> Outcome:
    return converters_judged(trail, hops, _HOP_TOOLS, prepared.artifact.path, *files)


PATH = PathSpec(
    "onnx2tf",
    "TensorFlow through onnx2tf: SavedModel, TFLite float32/float16, tf2onnx round trip, each hop vs eager",
    draw_cases,
    run_onnx2tf,
)
