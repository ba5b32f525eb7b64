"""The onnx-tf compatibility layer: old onnx.mapping tables and the tensorflow_addons stand-in.

The table tests import only onnx and numpy. Anything that imports TensorFlow
runs in a subprocess: this pytest process may hold torch, and the two must
never share a process.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from suite.workers.onnx_tf_compat import build_mapping_tables

REPO = Path(__file__).resolve().parents[1]


def _dtypes_with_numpy() -> list[int]:
    found = []
    for value in TensorProto.DataType.values():
        try:
            helper.tensor_dtype_to_np_dtype(value)
        except (KeyError, ValueError, TypeError):
            continue
        found.append(int(value))
    return found


DTYPES = _dtypes_with_numpy()


@pytest.fixture(scope="module")
def tables() -> dict:
    return build_mapping_tables()


def test_every_numpy_backed_dtype_is_covered(tables: dict) -> None:
    assert set(DTYPES) >= {TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL, TensorProto.FLOAT16}
    assert set(tables["TENSOR_TYPE_TO_NP_TYPE"]) == set(DTYPES)
    assert set(tables["TENSOR_TYPE_TO_STORAGE_TENSOR_TYPE"]) == set(DTYPES)


@pytest.mark.parametrize("tensor_type", DTYPES, ids=TensorProto.DataType.Name)
def test_tables_agree_with_onnx_helpers(tables: dict, tensor_type: int) -> None:
    np_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor_type))
    assert tables["TENSOR_TYPE_TO_NP_TYPE"][tensor_type] == np_dtype
    assert tables["NP_TYPE_TO_TENSOR_TYPE"][np_dtype] == helper.np_dtype_to_tensor_dtype(np_dtype)
    storage = tables["TENSOR_TYPE_TO_STORAGE_TENSOR_TYPE"][tensor_type]
    assert storage == helper.tensor_dtype_to_storage_tensor_dtype(tensor_type)
    # onnx-tf's pb_wrapper reads a tensor's values through exactly this double lookup.
    assert tables["STORAGE_TENSOR_TYPE_TO_FIELD"][storage] == helper.tensor_dtype_to_field(tensor_type)


def test_the_classic_entries_onnx_tf_relies_on(tables: dict) -> None:
    to_np, to_tensor = tables["TENSOR_TYPE_TO_NP_TYPE"], tables["NP_TYPE_TO_TENSOR_TYPE"]
    for tensor_type, name in [
        (TensorProto.FLOAT, "float32"),
        (TensorProto.DOUBLE, "float64"),
        (TensorProto.FLOAT16, "float16"),
        (TensorProto.INT8, "int8"),
        (TensorProto.INT32, "int32"),
        (TensorProto.INT64, "int64"),
        (TensorProto.UINT8, "uint8"),
        (TensorProto.UINT64, "uint64"),
        (TensorProto.BOOL, "bool"),
        (TensorProto.COMPLEX64, "complex64"),
    ]:
        assert to_np[tensor_type] == np.dtype(name)
        assert to_tensor[np.dtype(name)] == tensor_type
    assert to_np[TensorProto.STRING] == np.dtype(object)
    assert tables["STORAGE_TENSOR_TYPE_TO_FIELD"][TensorProto.FLOAT] == "float_data"
    assert tables["STORAGE_TENSOR_TYPE_TO_FIELD"][TensorProto.INT64] == "int64_data"


@pytest.mark.parametrize(
    ("tensor_type", "values"),
    [
        (TensorProto.FLOAT, [1.5, -2.0]),
        (TensorProto.INT64, [3, -4]),
        (TensorProto.INT32, [5, 6]),
        (TensorProto.BOOL, [1, 0]),
    ],
)
def test_field_lookup_reads_a_made_tensor(tables: dict, tensor_type: int, values: list) -> None:
    proto = helper.make_tensor("t", tensor_type, [2], values)
    field = tables["STORAGE_TENSOR_TYPE_TO_FIELD"][tables["TENSOR_TYPE_TO_STORAGE_TENSOR_TYPE"][tensor_type]]
    assert list(getattr(proto, field)) == values


def _run_python(code: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        # TF_USE_LEGACY_KERAS as in the TF worker: onnx-tf's RNN handlers need Keras 2's rnn_cell.
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2", "TF_USE_LEGACY_KERAS": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_install_is_idempotent_and_imports_no_tensorflow() -> None:
    # In a subprocess: install() edits sys.modules and the onnx package, which this process should not see.
    proc = _run_python(
        """
        import sys
        from suite.workers.onnx_tf_compat import install
        install()
        first = sys.modules["onnx.mapping"]
        install()
        import onnx
        from onnx import mapping
        from onnx.helper import mapping as helper_mapping
        import tensorflow_addons as tfa
        assert mapping is first and helper_mapping is first and onnx.mapping is first
        assert mapping.TENSOR_TYPE_TO_NP_TYPE[1].name == "float32"
        assert callable(tfa.seq2seq.hardmax)
        import tensorflow_addons.seq2seq
        assert "tensorflow" not in sys.modules, "install() imported TensorFlow"
        print("ok")
        """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


@pytest.mark.slow
def test_onnx_tf_converts_and_runs_a_tiny_model() -> None:
    """MatMul + Relu and a Hardmax (through the stand-in) in TensorFlow, checked against numpy."""
    proc = _run_python(
        """
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
        from suite.workers.onnx_tf_compat import import_onnx_tf

        backend = import_onnx_tf()
        w = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
        graph = helper.make_graph(
            [
                helper.make_node("MatMul", ["x", "w"], ["m"]),
                helper.make_node("Relu", ["m"], ["y"]),
                helper.make_node("Hardmax", ["m"], ["h"], axis=-1),
            ],
            "tiny",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
            [
                helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5]),
                helper.make_tensor_value_info("h", TensorProto.FLOAT, ["n", 5]),
            ],
            [numpy_helper.from_array(w, "w")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        rep = backend.prepare(model, logging_level="ERROR")
        for n in (3, 7):
            x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
            y, h = rep.run({"x": x})
            m = x @ w
            np.testing.assert_allclose(y, np.maximum(m, 0), rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(h, np.eye(5, dtype=np.float32)[m.argmax(-1)])
        print("ok")
        """,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.slow
def test_stacked_lstms_each_use_their_own_weights() -> None:
    """Two LSTM nodes of different sizes: onnx-tf alone reuses the first node's cell (and weights) for the second."""
    proc = _run_python(
        """
        import numpy as np
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
        from suite.workers.onnx_tf_compat import import_onnx_tf

        rng = np.random.default_rng(0)

        def lstm(name, x, input_size, hidden):
            def weights(suffix, shape):
                return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name + suffix)

            w = weights("_W", (1, 4 * hidden, input_size))
            r = weights("_R", (1, 4 * hidden, hidden))
            nodes = [
                helper.make_node("LSTM", [x, w.name, r.name], [name + "_Y"], name=name, hidden_size=hidden),
                helper.make_node("Squeeze", [name + "_Y"], [name + "_out"], axes=[1]),
            ]
            return nodes, [w, r]

        n1, i1 = lstm("a", "x", 3, 5)
        n2, i2 = lstm("b", "a_out", 5, 4)
        graph = helper.make_graph(
            n1 + n2,
            "stacked",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["seq", "batch", 3])],
            [helper.make_tensor_value_info("b_out", TensorProto.FLOAT, ["seq", "batch", 4])],
            i1 + i2,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
        rep = import_onnx_tf().prepare(model, logging_level="ERROR")
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        for shape in ((6, 2, 3), (4, 3, 3)):
            x = rng.standard_normal(shape).astype(np.float32)
            np.testing.assert_allclose(rep.run({"x": x})[0], session.run(None, {"x": x})[0], rtol=1e-4, atol=1e-5)
        print("ok")
        """,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
