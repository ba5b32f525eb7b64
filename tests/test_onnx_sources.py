"""A folder in the ONNX Model Zoo layout becomes zoo entries: names, families, opsets, data sets, problems."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.core.record import Status
from suite.judge.inputs import make_inputs
from suite.onnx_files.safe_read import Limits, SourceRejected
from suite.onnx_files.sources import OnnxDirError, parse_dims, problem_status, specs_from_dirs, stored_data
from suite.workers import onnx_files  # noqa: TID251 - its ORT function, in-process on hand-built files
from zoo.spec import ModelSpec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's sample folder (scripts/make_onnx_zoo.py: 12 models, 4 families, opsets 7 to 21)."""
    out = tmp_path_factory.mktemp("onnx-zoo")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_onnx_zoo.py"), str(out)], check=True, timeout=300)
    return out


def test_every_entry_of_the_layout_is_found_with_its_family_opset_and_data_sets(
    sample_zoo: Path, tmp_path: Path
) -> None:
    specs = {s.name: s for s in specs_from_dirs([str(sample_zoo)], {"batch": 2}, Limits(), tmp_path / "unpacked")}
    assert len(specs) == 12 and not [s.name for s in specs.values() if s.file_source.problem]
    assert {s.family for s in specs.values()} == {"tabular", "vision", "sequence", "text"}
    opsets = {s.file_source.opset for s in specs.values()}
    assert min(opsets) <= 9 and max(opsets) == 21
    assert specs["gemm_ir3"].file_source.ir_version == 3
    assert [i.name for i in specs["gemm_ir3"].inputs] == ["x"]  # initializers listed as inputs are not fed
    assert specs["lstm_op15"].file_source.model.is_relative_to(tmp_path / "unpacked")  # from the .tar.gz
    assert len(specs["mlp_op9"].file_source.data_sets) == 3
    bare = specs["convnet_dynamic"]
    assert not bare.file_source.data_sets and bare.feeds is None
    assert make_inputs(bare)["image"].shape == (2, 3, 16, 16)  # the named dim at the size given
    encoder = specs["encoder_op17"]
    assert make_inputs(encoder, draw=1)["token_ids"].dtype == np.int64  # draw 1 is test_data_set_1
    stored = stored_data(encoder.file_source, encoder.input_names(), 1, Limits())
    np.testing.assert_array_equal(make_inputs(encoder, draw=3)["token_ids"], dict(stored.inputs)["token_ids"])


def test_a_dim_without_a_size_and_a_corrupt_file_are_problems_of_their_entry(sample_zoo: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "zoo" / "broken"
    corrupt.mkdir(parents=True)
    (corrupt / "cut.onnx").write_bytes((sample_zoo / "vision" / "convnet_dynamic.onnx").read_bytes()[:100])
    (corrupt / "convnet_dynamic.onnx").write_bytes((sample_zoo / "vision" / "convnet_dynamic.onnx").read_bytes())
    specs = {s.name: s for s in specs_from_dirs([str(tmp_path / "zoo")], {}, Limits(), tmp_path / "unpacked")}
    assert "not a valid ONNX model" in specs["cut"].file_source.problem and specs["cut"].file_source.opset == 0
    assert specs["convnet_dynamic"].file_source.problem == (
        "input 'image' dim 0 is named 'batch' and no size was given; give --zoo-onnx-dims batch=N"
    )


def test_names_stay_unique_across_folders_and_the_zoo(sample_zoo: Path, tmp_path: Path) -> None:
    specs = specs_from_dirs(
        [str(sample_zoo / "vision"), str(sample_zoo / "vision")], {"batch": 1}, Limits(), tmp_path, taken=["conv_ir3"]
    )
    names = [s.name for s in specs]
    assert len(names) == len(set(names)) == 10
    assert "vision_conv_ir3" in names and "convnet_op11_2" not in names and "vision_convnet_op11" in names


@pytest.mark.parametrize("value", ["batch", "batch=0", "=3", "batch=x"])
def test_bad_dim_sizes_are_refused(value: str) -> None:
    with pytest.raises(OnnxDirError, match="NAME=SIZE"):
        parse_dims(value)
    assert parse_dims("batch=2, seq=16") == {"batch": 2, "seq": 16}


def graph_file(folder: Path, name: str, inputs: list[onnx.ValueInfoProto], outputs: list[str] | None = None) -> Path:
    """A bare .onnx file whose graph takes `inputs` (an Identity on the first, when there is one)."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = [helper.make_node("Identity", [inputs[0].name], ["y"])] if inputs else []
    graph = helper.make_graph(nodes, name, inputs, [helper.make_value_info("y", inputs[0].type)] if inputs else [])
    path = folder / f"{name}.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString())
    return path


def one_spec(folder: Path, tmp_path: Path, dims: dict[str, int] | None = None) -> ModelSpec:
    (spec,) = specs_from_dirs([str(folder)], dims or {}, Limits(), tmp_path / "unpacked")
    return spec


def test_a_graph_without_inputs_has_data_sets_of_outputs_only(tmp_path: Path) -> None:
    folder = tmp_path / "zoo" / "constant"
    folder.mkdir(parents=True)
    constant = numpy_helper.from_array(np.arange(4, dtype=np.float32), "c")
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["y"], value=constant)],
        "constant",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    (folder / "model.onnx").write_bytes(helper.make_model(graph).SerializeToString())
    (folder / "test_data_set_0").mkdir()
    (folder / "test_data_set_0" / "output_0.pb").write_bytes(constant.SerializeToString())
    (folder / "test_data_set_1").mkdir()
    (folder / "test_data_set_1" / "input_0.pb").write_bytes(constant.SerializeToString())
    spec = one_spec(tmp_path / "zoo", tmp_path)
    assert spec.inputs == () and not spec.file_source.problem
    data = stored_data(spec.file_source, (), 0, Limits())
    assert data.inputs == () and data.outputs[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert make_inputs(spec) == {}
    with pytest.raises(SourceRejected, match=r"test_data_set_1 holds no output_K\.pb file"):
        stored_data(spec.file_source, (), 1, Limits())


def test_string_bool_and_container_inputs_are_generated_small_and_seeded(tmp_path: Path) -> None:
    float_tensor = helper.make_tensor_type_proto(TensorProto.FLOAT, [3])
    inputs = [
        helper.make_tensor_value_info("text", TensorProto.STRING, [2, 3]),
        helper.make_tensor_value_info("mask", TensorProto.BOOL, [4]),
        helper.make_value_info("parts", helper.make_sequence_type_proto(float_tensor)),
        helper.make_value_info("words", helper.make_sequence_type_proto(helper.make_tensor_type_proto(8, ["n"]))),
        helper.make_value_info("counts", helper.make_map_type_proto(TensorProto.STRING, FLOAT_SCALAR)),
        helper.make_value_info("ids", helper.make_map_type_proto(TensorProto.INT64, FLOAT_SCALAR)),
        helper.make_value_info("maybe", helper.make_optional_type_proto(float_tensor)),
    ]
    graph_file(tmp_path / "zoo", "mixed", inputs)
    spec = one_spec(tmp_path / "zoo", tmp_path, {"n": 2})
    assert not spec.file_source.problem and spec.feeds is not None
    fed = make_inputs(spec, draw=1)
    text = fed["text"]
    assert text.shape == (2, 3) and text.dtype == object and all(s.isascii() and 1 <= len(s) <= 8 for s in text.flat)
    assert fed["mask"].dtype == np.bool_ and fed["mask"].shape == (4,)
    assert [a.shape for a in fed["parts"]] == [(3,), (3,)] and fed["parts"][0].dtype == np.float32
    assert [w.shape for w in fed["words"]] == [(2,), (2,)] and isinstance(fed["words"][0][0], str)
    assert len(fed["counts"]) == 3 and all(type(k) is str for k in fed["counts"])
    assert len(fed["ids"]) == 3 and all(type(k) is int for k in fed["ids"])
    assert fed["maybe"].shape == (3,)
    again, other = make_inputs(spec, draw=1), make_inputs(spec, draw=2)
    assert again["text"].tolist() == text.tolist() and other["text"].tolist() != text.tolist()
    # and ONNX Runtime's Python API takes every one of them (a graph returning each input)
    taken = run_identities(tmp_path, inputs, fed)
    assert taken[0].tolist() == text.tolist() and taken[2][1].tolist() == fed["parts"][1].tolist()
    assert taken[6].tolist() == fed["maybe"].tolist()


FLOAT_SCALAR = helper.make_tensor_type_proto(TensorProto.FLOAT, None)


def run_identities(tmp_path: Path, inputs: list[onnx.ValueInfoProto], feeds: dict[str, Any]) -> list[Any]:
    """ONNX Runtime CPU (in the onnx worker's function) on a graph that returns its inputs, maps as a
    count (ORT returns no bare map: CastMap's tensor stands in)."""
    nodes, outputs = [], []
    for value in inputs:
        if value.type.HasField("map_type"):
            nodes.append(helper.make_node("DictVectorizer", [value.name], [value.name + "_out"], domain="ai.onnx.ml"))
            vocabulary = (
                "string_vocabulary" if value.type.map_type.key_type == TensorProto.STRING else "int64_vocabulary"
            )
            keys = list(feeds[value.name])
            nodes[-1].attribute.append(helper.make_attribute(vocabulary, keys))
            outputs.append(helper.make_tensor_value_info(value.name + "_out", TensorProto.FLOAT, None))
        else:
            nodes.append(helper.make_node("Identity", [value.name], [value.name + "_out"]))
            outputs.append(helper.make_value_info(value.name + "_out", value.type))
    graph = helper.make_graph(nodes, "identities", inputs, outputs)
    ops = [helper.make_opsetid("", 18), helper.make_opsetid("ai.onnx.ml", 3)]
    path = tmp_path / "identities.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=ops, ir_version=8).SerializeToString())
    return onnx_files.ort_cpu_outputs(str(path), [feeds])[0]


@pytest.mark.parametrize(
    ("declared", "reason", "status"),
    [
        (
            helper.make_tensor_type_proto(TensorProto.BFLOAT16, [2]),
            "input 'x' is bfloat16, unsupported by ONNX Runtime's Python API",
            Status.UNSUPPORTED,
        ),
        (
            helper.make_tensor_type_proto(TensorProto.FLOAT8E5M2, [2]),
            "input 'x' is float8e5m2, unsupported by ONNX Runtime's Python API",
            Status.UNSUPPORTED,
        ),
        (
            helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.DOUBLE, None)),
            "input 'x' is a map of int64 to double, unsupported by ONNX Runtime's Python API",
            Status.UNSUPPORTED,
        ),
        (
            helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None)),
            "input 'x' is a sequence of tensors of unknown rank, which cannot be generated; give test data",
            Status.MODEL_ERROR,
        ),
        (
            helper.make_sequence_type_proto(helper.make_map_type_proto(TensorProto.STRING, FLOAT_SCALAR)),
            "input 'x' is a sequence of maps, which cannot be generated; give test data",
            Status.MODEL_ERROR,
        ),
        (
            helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, ["len"])),
            "input 'x' dim 0 (its sequence's tensors) is named 'len' and no size was given; give --zoo-onnx-dims len=N",
            Status.MODEL_ERROR,
        ),
        (
            helper.make_tensor_type_proto(TensorProto.COMPLEX64, [2]),
            "input 'x' has element type 14, which cannot be generated",
            Status.MODEL_ERROR,
        ),
    ],
)
def test_an_input_that_cannot_be_generated_or_fed_says_why_in_one_line(
    tmp_path: Path, declared: onnx.TypeProto, reason: str, status: Status
) -> None:
    graph_file(tmp_path / "zoo", "odd", [helper.make_value_info("x", declared)])
    problem = one_spec(tmp_path / "zoo", tmp_path).file_source.problem
    assert problem.startswith(reason) and "\n" not in problem
    assert problem_status(problem) == status


def test_a_type_ort_cannot_be_fed_is_unsupported_even_with_test_data(tmp_path: Path) -> None:
    folder = tmp_path / "zoo" / "bf16"
    graph_file(folder, "model", [helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [2])])
    stored = numpy_helper.from_array(np.ones(2, ml_dtypes.bfloat16), "x")
    (folder / "test_data_set_0").mkdir()
    for name in ("input_0.pb", "output_0.pb"):
        (folder / "test_data_set_0" / name).write_bytes(stored.SerializeToString())
    spec = one_spec(tmp_path / "zoo", tmp_path)
    assert problem_status(spec.file_source.problem) == Status.UNSUPPORTED
    assert stored_data(spec.file_source, ("x",), 0, Limits()).outputs[0].dtype == ml_dtypes.bfloat16
