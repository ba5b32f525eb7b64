"""Triage's scripts for failures no graph shows: a failed export repeated with the same torch.onnx.export
call, a converter hop's failing call repeated on copies of the files it read, and the issue draft
beside a kept repro. Each is cached by content and kept only when it fails alike in a fresh process.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from suite.core.outcome import Outcome
from suite.core.record import Status
from suite.exporters import get_exporter
from suite.exporters.base import ExportRequest
from suite.judge.inputs import Probe, export_dims, make_inputs
from suite.judge.triage.blame import blame_export_failure
from suite.judge.triage.draft import write_draft
from suite.judge.triage.findings import Blame, Findings, Repro
from suite.judge.triage.repro import write_call_repro, write_export_repro
from suite.run.cache import content_key
from suite.run.cases import Case
from suite.run.exports import export_key
from suite.run.pipeline import CaseRunner, Prepared
from suite.run.references import reference
from zoo.spec import ModelSpec

# Bump when the triage's rules change what it finds: cached findings of older rules are not reused.
TRIAGE_VERSION = 14
# What a dynamic-axes repro's check raises (the export itself succeeded).
BAKED_AXES = "the exporter wrote dynamic axes as fixed sizes"


def export_findings(runner: CaseRunner, case: Case, outcome: Outcome) -> Findings:
    """A failed export: blame from the failure's signature, and a script that makes the same export call."""
    blame, reason, project = blame_export_failure(case.exporter, outcome.message, outcome.detail)
    signature = f"{blame.value}|{project}|{case.exporter}|{error_class(outcome.message)}"
    findings = Findings(blame, reason, project, signature)
    spec = runner.models.get(case.model)
    failure_text = _failure_text(outcome.message, outcome.detail)
    check = ""
    if outcome.stage == "dynamic_axes":  # the export ran, but wrote fixed sizes: the script checks its inputs
        failure_text, check = f"AssertionError: {BAKED_AXES}", _dims_check(spec)
    if spec.framework != "torch" or blame is Blame.HARNESS or not failure_text:
        return replace(findings, repro=Repro(f"not made: no export script for {case.exporter} failures of this kind"))
    key = content_key(
        kind="triage_export", version=TRIAGE_VERSION, export=export_key(runner, spec, case), failure=failure_text
    )

    def write(scratch: Path) -> Repro:
        request = ExportRequest(case.model, case.exporter, case.opset, case.dynamic, "model.onnx")
        names = spec.output_names or tuple(f"output_{i}" for i in range(len(_home_outputs(runner, spec, case))))
        repro = write_export_repro(
            scratch,
            model_import="from zoo import registry",
            builder_call=f"registry.ModelRegistry().load_modules([{_module_of(spec)!r}]).get({spec.name!r}).builder()",
            inputs=make_inputs(spec, export_dims(spec, case.dynamic)),
            export_call=get_exporter(case.exporter).repro_call(spec, request, names) + check,
            failure_text=failure_text,
            title=f"{project}: {outcome.message[:120]}",
            seed=spec.seed,
            timeout=runner.timeout,
        )
        return repro

    return replace(findings, repro=_kept(runner, key, findings, case, outcome, write))


def converter_repro(
    runner: CaseRunner,
    case: Case,
    prepared: Prepared | None,
    hop: str,
    files: Mapping[str, Path],
    outcome: Outcome,
    findings: Findings,
) -> Repro:
    """A script repeating the converter call that failed, on copies of the files it read (errors only:
    a converter's wrong numbers have no node to cut at)."""
    message = outcome.message.removeprefix(f"{hop}: ")
    call = CONVERTER_CALLS.get("ort" if message.startswith("ORT session creation failed") else hop)
    if outcome.status is Status.MISMATCH or call is None or prepared is None:
        return Repro("not made: a converter's wrong numbers have no node to cut at")
    if call.kind == "ort":
        failure_text = message.split("failed:")[-1].strip()[:60]
    else:
        failure_text = run_failure_text(message) or converter_failure_text(message, outcome.detail)
    if not failure_text or any(name not in files for name in call.files):
        return Repro("not made: the failing call's error or files are not known")
    key = content_key(
        kind="triage_call", version=TRIAGE_VERSION, export=prepared.export_key, hop=hop, failure=failure_text
    )

    def write(scratch: Path) -> Repro:
        repro = write_call_repro(
            scratch,
            files={name: files[name] for name in call.files},
            inputs=prepared.probes[0].inputs(prepared.spec),
            imports=call.imports,
            call=call.call.replace("OPSET", str(case.opset)),
            failure_text=failure_text,
            title=f"{findings.project}: {message[:120]}",
            packages=call.packages,
            timeout=runner.timeout,
        )
        return repro

    return _kept(runner, key, findings, case, outcome, write)


@dataclass(frozen=True)
class ConverterCall:
    """How a repro script repeats one converter hop's call (source text run from the repro's folder)."""

    kind: str
    files: tuple[str, ...]
    imports: str
    call: str
    packages: tuple[str, ...]


_ONNX_TF_PREPARE = (
    "backend = import_onnx_tf()  # onnx-tf 1.10 needs zoo-suite's shim to import on current onnx and TF\n"
    'rep = backend.prepare(onnx.load("model.onnx"), device="CPU", strict=True, logging_level="ERROR")\n'
)
_ONNX_TF_IMPORTS = (
    "import os\n\n"
    'os.environ["TF_USE_LEGACY_KERAS"] = "1"  # onnx-tf\'s RNN handlers need Keras 2, as in the suite\'s TF worker\n\n'
    "import onnx\n\nfrom suite.workers.onnx_tf_compat import import_onnx_tf"
)
_RUN_THEN_EXPORT = (
    'rep.run(list(inputs.values()))  # as the tf path does, before exporting\nrep.export_graph("saved_model_out")'
)
_TF_PACKAGES = ("onnx", "onnx-tf", "tensorflow", "tf2onnx", "onnxruntime")
_ONNX2TF_IMPORTS = (
    "import os\n\n"
    'os.environ["TF_USE_LEGACY_KERAS"] = "1"  # as in the suite\'s TF worker\n\n'
    "from suite.workers.onnx2tf_convert import onnx2tf_convert, saved_model_run, tflite_run"
)
# onnx2tf.convert as the suite calls it (offline, onnxsim first), through the suite's worker function,
# which raises Onnx2tfError with onnx2tf's own ERROR lines where onnx2tf prints them and exits.
_ONNX2TF_CONVERT = 'info = onnx2tf_convert("model.onnx", "onnx2tf_out")\n'
# The export's inputs as onnx2tf's files read them: channels-last where it moved the axes.
_ONNX2TF_FEEDS = 'feeds = {i["tf_name"]: inputs[i["name"]].transpose(i["perm"]) for i in info["inputs"]}\n'
_ONNX2TF_PACKAGES = ("onnx", "onnx2tf", "onnxsim", "tensorflow", "ai-edge-litert", "onnxruntime")


def _tflite_call(precision: str) -> ConverterCall:
    """onnx2tf's conversion, then LiteRT on its `precision` file, fed channels-last as onnx2tf reads."""
    run = _ONNX2TF_FEEDS + f'tflite_run("onnx2tf_out/" + info["tflite"]["{precision}"], feeds)'
    return ConverterCall("onnx2tf", ("model.onnx",), _ONNX2TF_IMPORTS, _ONNX2TF_CONVERT + run, _ONNX2TF_PACKAGES)


CONVERTER_CALLS = {
    "onnx_tf": ConverterCall(
        "onnx-tf", ("model.onnx",), _ONNX_TF_IMPORTS, _ONNX_TF_PREPARE + "rep.run(list(inputs.values()))", _TF_PACKAGES
    ),
    "saved_model": ConverterCall(
        "onnx-tf",
        ("model.onnx",),
        _ONNX_TF_IMPORTS,
        _ONNX_TF_PREPARE + _RUN_THEN_EXPORT,
        _TF_PACKAGES,
    ),
    # tf2onnx's own command line, as a user would run it on the SavedModel onnx-tf wrote.
    "tf2onnx": ConverterCall(
        "tf2onnx",
        ("saved_model",),
        "import subprocess",
        "done = subprocess.run([sys.executable, '-m', 'tf2onnx.convert', '--saved-model', 'saved_model', '--output',\n"
        "                       'converted.onnx', '--opset', 'OPSET'], capture_output=True, text=True, check=False)\n"
        "if done.returncode:\n"
        "    raise RuntimeError(done.stderr[-4000:])",
        _TF_PACKAGES,
    ),
    # The conversion, then its SavedModel on the inputs: the hop fails at either.
    "onnx2tf": ConverterCall(
        "onnx2tf",
        ("model.onnx",),
        _ONNX2TF_IMPORTS,
        _ONNX2TF_CONVERT + _ONNX2TF_FEEDS + 'saved_model_run("onnx2tf_out", feeds)',
        _ONNX2TF_PACKAGES,
    ),
    "tflite_float32": _tflite_call("float32"),
    "tflite_float16": _tflite_call("float16"),
    "ort": ConverterCall(
        "ort",
        ("converted.onnx",),
        "import onnxruntime as ort",
        'ort.InferenceSession("converted.onnx", providers=["CPUExecutionProvider"])',
        ("onnx", "onnxruntime"),
    ),
}


def _home_outputs(runner: CaseRunner, spec: Any, case: Case) -> list[Any]:
    """The eager outputs at the export's size (cached by the reference stage): their count names the outputs."""
    return reference(runner, spec, Probe(export_dims(spec, case.dynamic), runner.input_draw))


def _module_of(spec: Any) -> str:
    """What the repro script passes to ModelRegistry.load_modules: the dotted module, or a user file's path."""
    if spec.source.startswith("zoo_user_"):
        return inspect.getsourcefile(spec.builder) or spec.source
    return spec.source


def _dims_check(spec: ModelSpec) -> str:
    """Statements after an export call that raise AssertionError(BAKED_AXES ...) where the file's
    inputs hold a fixed size on an axis the export was asked to keep dynamic."""
    asked = {inp.name: sorted(inp.dynamic_dims) for inp in spec.inputs if inp.dynamic_dims}
    return (
        "\nimport onnx\n"
        "written = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] "
        "for i in onnx.load(path).graph.input}\n"
        f"asked = {asked!r}\n"
        "fixed = [f'{n}[{a}] = {written[n][a]}' for n, axes in asked.items() for a in axes "
        "if n in written and isinstance(written[n][a], int)]\n"
        f"assert not fixed, {BAKED_AXES + ': '!r} + ', '.join(fixed)"
    )


def _failure_text(message: str, detail: str) -> str:
    """The piece of an export's error a repro must raise again ("<Type>: <first words>").

    The row's message may be a summary (suite.core.messages.exporter_summary): its words are kept
    only where the raw traceback has them, else the exception's type alone must match.
    """
    kind, _, said = message.partition(": ")
    words = said.split(" (caused by", maxsplit=1)[0][:60].strip()
    if words and words in detail:
        return f"{kind}: {words}"
    return f"{kind}:" if kind and " " not in kind else ""


# A hop whose runner raised on the export's own inputs: "<runner> failed at <probe>: <Type>: <words>"
# (suite.judge.hops), the words perhaps followed by the node TF ran (suite.core.messages.tf_graph_error).
_RUN_FAILURE = re.compile(r"[^:]+ failed at [^:]+: (?P<kind>[\w.]+): (?P<words>.+?)(?: \(at node [^)]*\))?")


def run_failure_text(message: str) -> str:
    """The words of a runner's error that a repro's run must raise again, or "" for other messages.

    Only the words: the row's line is the informative one of a longer text (TF's graph execution
    error puts its heading first), which the raised error holds after its type, not beside it."""
    match = _RUN_FAILURE.fullmatch(message)
    return match["words"][:60].strip() if match else ""


# A dynamic export onnx2tf converts only with its inputs fixed (suite.paths.onnx2tf): the row's red is the
# dynamic conversion's error, which the repro's conversion (of the dynamic export) must raise again.
_DYNAMIC_FAILURE = re.compile(r"cannot convert the dynamic export \((?P<error>.+?)\); with its inputs fixed")
# onnx2tf's words name Keras layers by a per-process counter ("tf.reshape_991"): a fresh process's
# differ, so its errors are matched by the exception types alone.
_ONNX2TF_ERROR = re.compile(r"Onnx2tfError: (?:(?P<inner>[\w.]*(?:Error|Exception)): )?")


def converter_failure_text(message: str, detail: str) -> str:
    """The piece of a converter's error (the row's message, its hop named no more) a repro must raise."""
    dynamic = _DYNAMIC_FAILURE.match(message)
    error = dynamic["error"] if dynamic else message
    onnx2tf = _ONNX2TF_ERROR.match(error)
    if onnx2tf is not None:
        return f"Onnx2tfError: {onnx2tf['inner']}:" if onnx2tf["inner"] else "Onnx2tfError:"
    return _failure_text(error, detail)


def error_class(message: str) -> str:
    """A failure message without its figures and names, so the same bug on two models is one signature."""
    head = message.split(":", maxsplit=1)[0].strip()
    words = [w for w in message.replace(",", " ").split() if not any(c.isdigit() for c in w)][:12]
    return f"{head}: {' '.join(words)}"


def _kept(
    runner: CaseRunner, key: str, findings: Findings, case: Case, outcome: Outcome, write: Callable[[Path], Repro]
) -> Repro:
    """A script repro through the cache: `write` makes it in a scratch folder; a kept one gets its draft."""

    def run(scratch: Path) -> dict[str, Any]:
        repro = write(scratch)
        if repro.status == "reproduces":
            write_draft_beside(scratch, replace(findings, repro=repro), case, outcome)
        scratch.mkdir(parents=True, exist_ok=True)  # a dropped repro leaves no folder; the entry keeps one
        return {"repro": dataclasses.asdict(repro)}

    cached, folder = runner.cached_step("triage", key, "", run)
    if cached.status != "ok":
        return Repro(f"not made: {cached.message[:200]}")
    repro = Repro(**cached.extra["repro"])
    return replace(repro, folder=str(folder)) if repro.status == "reproduces" else repro


def write_draft_beside(folder: Path, findings: Findings, case: Case, outcome: Outcome) -> None:
    """The repro folder's README.md: an issue draft for the project the findings blame."""
    versions_file = folder / "versions.json"
    versions = json.loads(versions_file.read_text()) if versions_file.exists() else {}
    versions = {k: str(v) for k, v in versions.items()}
    script = (folder / "repro.py").read_text() if (folder / "repro.py").exists() else ""
    write_draft(
        folder, findings, case_ids=[case.case_id], message=outcome.message, versions=versions, repro_script=script
    )
