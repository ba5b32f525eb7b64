"""The value-type sample makers (scripts/make_value_zoo.py, make_onnxml_zoo.py) and their referee (check_onnx_dir.py).

The makers must write what they promise: one entry per TensorProto element type, every container kind, data set
files that parse as the graph's declared types. The referee must pass entries known to be fine and fail a stored
output that is wrong.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
# The element types issue #24 names; onnx 1.23 also has float8e8m0 and the two float6 types, which the maker covers.
NAMED_TYPES = (
    "FLOAT DOUBLE FLOAT16 BFLOAT16 FLOAT8E4M3FN FLOAT8E4M3FNUZ FLOAT8E5M2 FLOAT8E5M2FNUZ INT4 UINT4 FLOAT4E2M1 "
    "INT2 UINT2 INT8 UINT8 INT16 UINT16 INT32 UINT32 INT64 UINT64 BOOL STRING COMPLEX64 COMPLEX128"
).split()
# Entries ORT 1.32 runs and reproduces: the referee must say so.
KNOWN_GOOD = (
    "float_add",
    "float16_add",
    "int64_add",
    "int_exact",
    "string_stringconcat",
    "nan_inf",
    "reduce_max_empty",
    "constant_only",
    "checker_rejects",
    "sequence_split",
    "sequence_input",
    "zipmap_string",
    "map_string_float",
    "optional_present",
    "optional_empty",
    "optional_input_empty",
)


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(script: str, folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), str(folder)], check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout


def _verdicts(folder: Path) -> dict[str, str]:
    """check_onnx_dir.py's table: entry -> verdict (its last line is the count)."""
    lines = _run("check_onnx_dir.py", folder).splitlines()
    return dict(line.split(None, 1) for line in lines[:-1])


def _kind(type_proto: onnx.TypeProto) -> str:
    """'tensor', 'sequence(map)', 'optional(sequence)' ...: the container shape of a declared type."""
    kind = type_proto.WhichOneof("value")
    inner = {
        "sequence_type": lambda: type_proto.sequence_type.elem_type,
        "optional_type": lambda: type_proto.optional_type.elem_type,
    }.get(kind)
    name = kind.removesuffix("_type")
    return f"{name}({_kind(inner()).split('(')[0]})" if inner else name


@pytest.fixture(scope="module")
def value_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("valuezoo")
    _run("make_value_zoo.py", out)
    return out


def test_value_zoo_has_every_type_and_container_and_its_files_parse(value_zoo: Path) -> None:
    maker, checker = _script("make_value_zoo"), _script("check_onnx_dir")
    assert set(NAMED_TYPES) <= set(maker.TYPE_ENTRIES)
    kinds: set[str] = set()
    for entry in sorted(value_zoo.iterdir()):
        graph = onnx.load(entry / "model.onnx").graph
        data = entry / "test_data_set_0"
        expected = [f"input_{k}.pb" for k in range(len(graph.input))]
        expected += [f"output_{k}.pb" for k in range(len(graph.output))]
        assert sorted(p.name for p in data.iterdir()) == sorted(expected), entry.name
        for k, info in enumerate(graph.output):
            checker.load(data / f"output_{k}.pb", info.type)  # parses as its declared type
        kinds |= {_kind(i.type) for i in [*graph.input, *graph.output]}
    for type_name, entry_name in maker.TYPE_ENTRIES.items():
        graph = onnx.load(value_zoo / entry_name / "model.onnx").graph
        assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DataType.Value(type_name), entry_name
    assert {"sequence(tensor)", "sequence(map)", "sequence(sequence)", "map", "optional(tensor)"} <= kinds
    assert "optional(sequence)" in kinds
    empty = onnx.load(value_zoo / "optional_empty" / "model.onnx").graph.output[0]
    assert checker.load(value_zoo / "optional_empty" / "test_data_set_0" / "output_0.pb", empty.type) is None
    assert not list((value_zoo / "constant_only" / "test_data_set_0").glob("input_*.pb"))


def test_referee_passes_known_good_entries_and_fails_a_wrong_output(value_zoo: Path, tmp_path: Path) -> None:
    verdicts = _verdicts(value_zoo)
    assert len(verdicts) == len(list(value_zoo.iterdir()))
    assert {name: verdicts[name] for name in KNOWN_GOOD} == dict.fromkeys(KNOWN_GOOD, "match")
    # The same file with its stored output nudged past tolerance: the referee must not call it a match.
    shutil.copytree(value_zoo / "float_add", tmp_path / "float_add_altered")
    output = tmp_path / "float_add_altered" / "test_data_set_0" / "output_0.pb"
    tensor = onnx.load_tensor(output)
    wrong = onnx.numpy_helper.to_array(tensor) + np.float32(1e-3)
    output.write_bytes(onnx.numpy_helper.from_array(wrong, tensor.name).SerializeToString())
    assert _verdicts(tmp_path)["float_add_altered"].startswith("mismatch: ")


def test_onnxml_zoo_converts_scikit_learn_models_that_onnxruntime_reproduces(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    _run("make_onnxml_zoo.py", tmp_path)
    maker = _script("make_onnxml_zoo")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(maker.ENTRIES)
    assert _verdicts(tmp_path) == dict.fromkeys(maker.ENTRIES, "match")
    zipmap = onnx.load(tmp_path / "iris_logreg_zipmap" / "model.onnx").graph
    assert _kind(zipmap.output[1].type) == "sequence(map)"
    pipeline = onnx.load(tmp_path / "diabetes_pipeline" / "model.onnx").graph
    assert [i.type.tensor_type.elem_type for i in pipeline.input] == [onnx.TensorProto.STRING, onnx.TensorProto.FLOAT]
