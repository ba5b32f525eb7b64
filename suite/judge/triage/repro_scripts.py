"""Repro scripts: their texts, writing a graph repro's folder, and running a script in a fresh process.

The texts are string.Templates ($name is filled in). Each script stands alone: the graph one
imports only onnx, onnxruntime and numpy; the export one also torch and the zoo. Each prints what
it saw and ends with one line: "REPRODUCED: ..." (exit code 1) or "NOT REPRODUCED..." (exit code 0
when the result is right, 2 when something else went wrong), so a maintainer and the suite read the
outcome the same way.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from suite.judge.triage.findings import Repro

GRAPH_SCRIPT = '''\
"""$doc

Run from this folder: python repro.py (needs onnx, onnxruntime and numpy). It exits 1 and its last
line starts with REPRODUCED when the failure is still there.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = Path(__file__).parent
PROVIDER = $provider
ATOL = $atol
RTOL = $rtol
# Set when the failure is an error: a piece of the error onnxruntime raises.
FAILURE_TEXT = $failure_text


# out_of_bound


def load(kind):
    """The tensors stored as test_data_set_0/<kind>_<i>.pb, by name, in order."""
    paths = sorted((HERE / "test_data_set_0").glob(f"{kind}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
    tensors = [onnx.load_tensor(str(path)) for path in paths]
    return {t.name: numpy_helper.to_array(t) for t in tensors}


def compare(name, want, got):
    """What is wrong with one output ("" when it is within ATOL + RTOL * |expected|)."""
    print(f"{name}: expected shape {want.shape} {want.dtype}, got shape {got.shape} {got.dtype}")
    if got.shape != want.shape:
        return f"{name} has shape {got.shape}, expected {want.shape}"
    bad = out_of_bound(got, want, ATOL, RTOL)
    if not bad.any():
        print("  within bound")
        return ""
    numeric = want.dtype.kind in "biufc" and got.dtype.kind in "biufc"
    err = np.abs(got.astype(np.float64) - want.astype(np.float64)) if numeric else bad.astype(np.float64)
    err = np.where(bad, np.nan_to_num(err, nan=np.inf), 0.0)
    at = np.unravel_index(int(np.argmax(err)), err.shape)
    where = tuple(int(i) for i in at)
    for index in np.argwhere(bad)[:5]:
        first = tuple(int(i) for i in index)
        print(f"  out of bound at {first}: expected {want[first]}, got {got[first]}")
    print(f"  largest error at {where}: expected {want[at]}, got {got[at]}")
    return (
        f"{name}: {int(bad.sum())} of {bad.size} values leave atol {ATOL:g} + rtol {RTOL:g} * |expected| "
        f"(max abs error {err[at]:.4g} at {where})"
    )


def main():
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}, {PROVIDER}")
    if PROVIDER not in ort.get_available_providers():
        print(f"NOT REPRODUCED: {PROVIDER} is not available in this onnxruntime")
        return 2
    inputs, expected = load("input"), load("output")
    try:
        session = ort.InferenceSession(str(HERE / "model.onnx"), providers=[PROVIDER])
        outputs = session.run(list(expected) or None, inputs)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        print(f"onnxruntime raised {error}")
        if FAILURE_TEXT and FAILURE_TEXT in error:
            print(f"REPRODUCED: onnxruntime raised an error containing {FAILURE_TEXT!r}")
            return 1
        print("NOT REPRODUCED: onnxruntime raised an error other than the one expected")
        return 2
    if FAILURE_TEXT:
        print(f"NOT REPRODUCED: onnxruntime ran without raising {FAILURE_TEXT!r}")
        return 0
    wrong = [w for w in (compare(n, want, got) for (n, want), got in zip(expected.items(), outputs)) if w]
    if wrong:
        print("REPRODUCED: " + "; ".join(wrong))
        return 1
    print("NOT REPRODUCED: every output is within bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

EXPORT_SCRIPT = '''\
"""$doc

Run from this folder: python repro.py (needs torch, onnx, onnxscript and the zoo-suite checkout on
PYTHONPATH for the model). It exits 1 and its last line starts with REPRODUCED when the export
still fails this way.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

$model_import

HERE = Path(__file__).parent
FAILURE_TEXT = $failure_text  # a piece of "<ExceptionType>: <message>" the export raises
SEED = $seed


def main():
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    torch.manual_seed(SEED)  # the weights the suite built
    model = $builder_call
    model.eval()
    with np.load(HERE / "inputs.npz") as stored:
        inputs = {name: torch.from_numpy(stored[name]) for name in stored.files}
    args = tuple(inputs.values())
    path = str(Path(tempfile.mkdtemp()) / "model.onnx")
    try:
$export_call
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        first = next((line for line in error.splitlines() if line.strip()), error)
        print(f"the export raised {first}")
        # The piece as it is, or its type with its words anywhere in the message (an exporter's
        # summary line, e.g. a ConversionError's DispatchError, sits below the message's first lines).
        kind, _, words = FAILURE_TEXT.partition(": ")
        if FAILURE_TEXT in error or (type(exc).__name__ == kind.rstrip(":") and words.strip() in error):
            print(f"REPRODUCED: {first}")
            return 1
        print(f"NOT REPRODUCED: the export raised an error without {FAILURE_TEXT!r}")
        return 2
    print(f"NOT REPRODUCED: the export succeeded ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def out_of_bound(got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """Where `got` leaves the bound around `want` (same shapes); NaN where `want` is a number counts."""
    if got.dtype.kind not in "biufc" or want.dtype.kind not in "biufc":
        return np.asarray(got != want)
    g, w = got.astype(np.float64), want.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(g - w) <= atol + rtol * np.abs(w)) | (g == w) | (np.isnan(g) & np.isnan(w))
    return ~ok


def run_script(folder: Path, timeout: float, env: Mapping[str, str]) -> tuple[int, str]:
    """repro.py's exit code and its last line, run in a fresh Python from its folder."""
    try:
        proc = subprocess.run(
            [sys.executable, "repro.py"],
            check=False,
            cwd=folder,
            env=dict(env),
            timeout=timeout,
            capture_output=True,
            text=True,
        )
    except subprocess.TimeoutExpired:
        return 0, f"did not finish in {timeout:g} s"
    lines = proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
    return proc.returncode, lines[-1]


def keep_or_drop(folder: Path, reproduced: bool, last: str, before: int | None, after: int | None) -> Repro:
    """The Repro of a written folder; the folder is removed when its script did not reproduce."""
    if reproduced:
        return Repro(status="reproduces", folder=str(folder.resolve()), nodes_before=before, nodes_after=after)
    shutil.rmtree(folder, ignore_errors=True)
    return Repro(f"dropped: did not reproduce in a fresh process ({last})", nodes_before=before, nodes_after=after)


def fresh_folder(folder: Path) -> None:
    """`folder`, created empty (whatever an earlier repro left there is removed)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def clean_env() -> dict[str, str]:
    """This environment without PYTHONPATH: the graph repro must not lean on the checkout."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def write_graph_folder(
    folder: Path,
    sub: onnx.ModelProto,
    feeds: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    **script: object,
) -> None:
    """Write a graph repro: model.onnx, test_data_set_0/*.pb, versions.json and repro.py.

    `script` holds what the script is filled in with: title, expected_from, provider,
    failure_text, atol and rtol.
    """
    fresh_folder(folder)
    onnx.save(sub, str(folder / "model.onnx"))
    data = folder / "test_data_set_0"
    data.mkdir()
    outputs = [(o.name, expected[o.name]) for o in sub.graph.output if o.name in expected]
    for kind, pairs in (("input", list(feeds.items())), ("output", outputs)):
        for i, (name, value) in enumerate(pairs):
            tensor = numpy_helper.from_array(np.ascontiguousarray(value), name=name)
            (data / f"{kind}_{i}.pb").write_bytes(tensor.SerializeToString())
    versions = {"python": platform.python_version(), "numpy": np.__version__, "onnx": onnx.__version__}
    versions |= {"onnxruntime": ort.__version__, "provider": script["provider"]}
    (folder / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    code = Template(GRAPH_SCRIPT).substitute(
        {k: repr(v) for k, v in script.items()}
        | {"doc": script_doc(str(script["title"]), str(script["expected_from"]))}
    )
    (folder / "repro.py").write_text(code.replace("# out_of_bound\n", inspect.getsource(out_of_bound)))


def script_doc(title: str, expected_from: str = "") -> str:
    """A script's docstring: the title, and where the expected values come from."""
    text = f"{title}\n\nThe expected values come from {expected_from}." if expected_from else title
    return text.replace("\\", "\\\\").replace('"""', "'''")  # it goes inside triple quotes


def version_of(distribution: str) -> str:
    """An installed distribution's version, without importing it ("absent" when not installed)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def write_export_folder(
    folder: Path,
    *,
    model_import: str,
    builder_call: str,
    inputs: Mapping[str, np.ndarray],
    export_call: str,
    failure_text: str,
    title: str,
    module_path: str | None,
    seed: int,
) -> None:
    """Write an export repro: inputs.npz, versions.json and repro.py (see write_export_repro)."""
    fresh_folder(folder)
    np.savez(folder / "inputs.npz", **{name: np.asarray(value) for name, value in inputs.items()})
    names = ("python", "numpy", "torch", "onnx", "onnxscript")
    versions = {n: platform.python_version() if n == "python" else version_of(n) for n in names}
    (folder / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    submodule = f"\n    model = model.get_submodule({module_path!r})" if module_path else ""
    code = Template(EXPORT_SCRIPT).substitute(
        doc=script_doc(title or "A torch.onnx.export call that fails."),
        model_import=model_import.strip(),
        builder_call=builder_call.strip() + submodule,
        export_call="\n".join("        " + line for line in export_call.strip().splitlines()),
        failure_text=repr(failure_text),
        seed=repr(seed),
    )
    (folder / "repro.py").write_text(code)


CALL_SCRIPT = '''\
"""$doc

Run from this folder: python repro.py (with the zoo-suite checkout on PYTHONPATH where it imports
the suite). It exits 1 and its last line starts with REPRODUCED when the call still fails this way.
"""

import sys
from pathlib import Path

import numpy as np

$imports

HERE = Path(__file__).parent
FAILURE_TEXT = $failure_text  # a piece of "<ExceptionType>: <message>" the call raises


def main():
    with np.load(HERE / "inputs.npz") as stored:
        inputs = {name: stored[name] for name in stored.files}
    try:
$call
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        first = next((line for line in error.splitlines() if line.strip()), error)
        print(f"the call raised {first}")
        if FAILURE_TEXT in error:
            print(f"REPRODUCED: {first}")
            return 1
        print(f"NOT REPRODUCED: the call raised {first[:300]} (without {FAILURE_TEXT!r})")
        return 2
    print("NOT REPRODUCED: the call succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def write_call_folder(
    folder: Path,
    *,
    files: Mapping[str, Path],
    inputs: Mapping[str, np.ndarray],
    imports: str,
    call: str,
    failure_text: str,
    title: str,
    packages: Sequence[str],
) -> None:
    """Write a converter-call repro: the files it reads (copied), inputs.npz, versions.json and repro.py."""
    fresh_folder(folder)
    for name, source in files.items():
        target = folder / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    np.savez(folder / "inputs.npz", **{name: np.asarray(value) for name, value in inputs.items()})
    versions = {n: platform.python_version() if n == "python" else version_of(n) for n in ("python", *packages)}
    (folder / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    code = Template(CALL_SCRIPT).substitute(
        doc=script_doc(title or "A converter call that fails."),
        imports=imports.strip(),
        call="\n".join("        " + line for line in call.strip().splitlines()),
        failure_text=repr(failure_text),
    )
    (folder / "repro.py").write_text(code)
