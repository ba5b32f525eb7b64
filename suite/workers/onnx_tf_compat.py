"""Make onnx-tf 1.10.0 (the last release, 2022) import and run on current onnx and TensorFlow.

onnx-tf is unmaintained and breaks on today's packages in two places, both at
import time:

* It reads the old ``onnx.mapping`` tables (``from onnx import mapping`` in
  ``onnx_tf/common/data_type.py`` and ``handlers/backend/sequence_empty.py``;
  ``from onnx.helper import mapping`` in ``onnx_tf/pb_wrapper.py``). onnx removed
  that module; the same facts now come from ``onnx.helper``'s dtype functions.
  onnx-tf touches exactly four tables: ``TENSOR_TYPE_TO_NP_TYPE``,
  ``NP_TYPE_TO_TENSOR_TYPE``, ``TENSOR_TYPE_TO_STORAGE_TENSOR_TYPE`` and
  ``STORAGE_TENSOR_TYPE_TO_FIELD``. ``install()`` rebuilds them from
  ``onnx.helper`` and registers the module as ``onnx.mapping`` (also in
  ``sys.modules``) and as ``onnx.helper.mapping``.
* Its Hardmax handler does ``import tensorflow_addons as tfa`` and uses only
  ``tfa.seq2seq.hardmax``. tensorflow-addons is end of life and fails to import
  on Keras 3 ("No module named 'keras.src.engine'"). ``install()`` registers a
  stand-in ``tensorflow_addons`` package whose ``seq2seq.hardmax`` is the same
  computation in plain TF ops (one-hot of the argmax over the last axis; ties go
  to the first maximum, as in ONNX Hardmax).

Building the tables imports only onnx and numpy; TensorFlow is imported only
when the stand-in hardmax is called, so ``install()`` is safe in a process that
must stay free of TensorFlow (the pytest process, which may hold torch).
Nothing here modifies files on disk.

Bernoulli's handler imports ``tensorflow_probability``, which still imports on
TF 2.21 (with tf_keras installed), so it needs no stand-in.

One behaviour fix, applied by ``import_onnx_tf()`` after the import (it needs
TensorFlow): onnx-tf's RNNMixin.rnn (LSTM, GRU, RNN) caches the TF cell on the
handler *class* (``cls.rnn_cell``) and reuses it for every later node, in this
model and in every model converted afterwards in the process. The cell holds
the first node's weights (they reach it through a variable-scope getter only
when it is built), so a second LSTM node of another size fails in BiasAdd
(measured: every 2-layer torch LSTM export) and one of the same size would
silently compute with the first node's weights. The patch builds a fresh cell
per call; weights still come from onnx-tf's per-node variables, so no
variables are created on retracing. Measured after the patch: a 2-layer LSTM
(torchscript opset 11, dynamo opset 18) matches ONNX Runtime to 3e-8 at two
batch/sequence sizes.

The RNN handlers also need ``tf.compat.v1.nn.rnn_cell``, which on TF 2.16+ is
backed by Keras 2: run onnx-tf with TF_USE_LEGACY_KERAS=1 set before TensorFlow
is imported (suite.workers.tf_process.init_worker does), or LSTM fails with
"`LSTMStateTuple` is not available with Keras 3".
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np

_MAPPING_MODULE = "onnx.mapping"
_TFA_MODULE = "tensorflow_addons"
_STANDIN_MARK = "__zoo_suite_standin__"


def _tensor_dtypes() -> list[int]:
    """Every TensorProto data type onnx.helper knows a numpy dtype for (UNDEFINED excluded)."""
    from onnx import helper

    return sorted(int(t) for t in helper.get_all_tensor_dtypes())


def build_mapping_tables() -> dict[str, dict[Any, Any]]:
    """The old ``onnx.mapping`` tables, rebuilt from onnx.helper's dtype functions.

    Returns:
        Table name -> dict, for the four tables onnx-tf reads:
        TENSOR_TYPE_TO_NP_TYPE (int -> np.dtype), NP_TYPE_TO_TENSOR_TYPE
        (np.dtype -> int), TENSOR_TYPE_TO_STORAGE_TENSOR_TYPE (int -> int) and
        STORAGE_TENSOR_TYPE_TO_FIELD (storage int -> TensorProto field name).
        Types beyond plain numpy (bfloat16, float8, int4 ...) map to their
        ml_dtypes dtypes, as onnx.helper maps them.

    Raises:
        RuntimeError: two data types sharing a storage type disagree on its field
            (the old table could not then be keyed by storage type).
    """
    from onnx import helper

    to_np: dict[int, np.dtype] = {}
    to_storage: dict[int, int] = {}
    storage_to_field: dict[int, str] = {}
    for tensor_type in _tensor_dtypes():
        to_np[tensor_type] = np.dtype(helper.tensor_dtype_to_np_dtype(tensor_type))
        storage = int(helper.tensor_dtype_to_storage_tensor_dtype(tensor_type))
        to_storage[tensor_type] = storage
        field = helper.tensor_dtype_to_field(tensor_type)
        if storage_to_field.setdefault(storage, field) != field:
            raise RuntimeError(
                f"onnx storage type {storage} maps to fields {storage_to_field[storage]!r} and {field!r}; "
                "the old onnx.mapping.STORAGE_TENSOR_TYPE_TO_FIELD cannot be rebuilt"
            )
    # The inverse in onnx's own direction: np_dtype_to_tensor_dtype decides which
    # TensorProto type a numpy dtype names (it is one-to-one on this table today).
    to_tensor = {dtype: int(helper.np_dtype_to_tensor_dtype(dtype)) for dtype in to_np.values()}
    return {
        "TENSOR_TYPE_TO_NP_TYPE": to_np,
        "NP_TYPE_TO_TENSOR_TYPE": to_tensor,
        "TENSOR_TYPE_TO_STORAGE_TENSOR_TYPE": to_storage,
        "STORAGE_TENSOR_TYPE_TO_FIELD": storage_to_field,
    }


def _install_mapping() -> None:
    import onnx
    import onnx.helper

    module = sys.modules.get(_MAPPING_MODULE)
    if module is None:
        module = types.ModuleType(
            _MAPPING_MODULE, "Stand-in for the removed onnx.mapping (suite.workers.onnx_tf_compat)."
        )
        module.__dict__.update(build_mapping_tables())
        setattr(module, _STANDIN_MARK, True)
        sys.modules[_MAPPING_MODULE] = module
    if not hasattr(onnx, "mapping"):
        onnx.mapping = module  # type: ignore[attr-defined]
    if not hasattr(onnx.helper, "mapping"):
        onnx.helper.mapping = module  # type: ignore[attr-defined]


def hardmax(logits: Any, name: str | None = None) -> Any:
    """tensorflow_addons.seq2seq.hardmax: one-hot of the argmax along the last axis, in logits' dtype."""
    import tensorflow as tf

    with tf.name_scope(name or "Hardmax"):
        logits = tf.convert_to_tensor(logits, name="logits")
        depth = tf.shape(logits)[-1]
        return tf.one_hot(tf.argmax(logits, axis=-1), depth, dtype=logits.dtype)


def _install_tensorflow_addons() -> None:
    if _TFA_MODULE in sys.modules:
        return  # a real (working) tensorflow_addons, or our stand-in from an earlier call
    package = types.ModuleType(_TFA_MODULE, "Stand-in for tensorflow_addons (suite.workers.onnx_tf_compat).")
    seq2seq = types.ModuleType(f"{_TFA_MODULE}.seq2seq")
    seq2seq.hardmax = hardmax  # type: ignore[attr-defined]
    package.seq2seq = seq2seq  # type: ignore[attr-defined]
    package.__path__ = []  # a package, so "import tensorflow_addons.seq2seq" resolves from sys.modules
    setattr(package, _STANDIN_MARK, True)
    sys.modules[_TFA_MODULE] = package
    sys.modules[f"{_TFA_MODULE}.seq2seq"] = seq2seq


def install() -> None:
    """Provide onnx.mapping, onnx.helper.mapping and tensorflow_addons.seq2seq.hardmax (idempotent).

    Call before the first ``import onnx_tf``. Imports onnx and numpy only.
    """
    _install_mapping()
    _install_tensorflow_addons()


def import_onnx_tf() -> Any:
    """install(), import onnx_tf, fix its RNN cell cache; return ``onnx_tf.backend``.

    Imports TensorFlow: call only in the TF worker.
    """
    install()
    import onnx_tf.backend

    _fresh_rnn_cells()
    return onnx_tf.backend


def _fresh_rnn_cells() -> None:
    """Make onnx-tf build a new TF cell for every LSTM/GRU/RNN node instead of reusing the class's first one."""
    from onnx_tf.handlers.backend.rnn_mixin import RNNMixin

    if getattr(RNNMixin, _STANDIN_MARK, False):
        return
    original = RNNMixin.rnn.__func__

    def rnn(cls: Any, *args: Any, **kwargs: Any) -> Any:
        cls.rnn_cell = None  # onnx-tf builds and stores a cell when this is None
        return original(cls, *args, **kwargs)

    RNNMixin.rnn = classmethod(rnn)
    setattr(RNNMixin, _STANDIN_MARK, True)
