"""The TF worker process: started with init_worker, it serves the Keras models (keras_models),
onnx-tf (onnx_tf) and tf2onnx (tf2onnx_convert).

It never imports torch, directly or through another module: importing TensorFlow and torch
into one process can segfault. Arguments and results are plain, picklable data.

Keras flavour: the worker sets TF_USE_LEGACY_KERAS=1 before importing
TensorFlow, so ``tf.keras`` is tf_keras (Keras 2). onnx-tf needs that, not
tf2onnx: its LSTM/GRU/RNN handlers use tf.compat.v1.nn.rnn_cell, which on
TF 2.16+ exists only with Keras 2 (with Keras 3 every LSTM fails: "`LSTMStateTuple`
is not available with Keras 3"). The zoo's Keras models do not use tf.keras:
their builders ``import keras``, which stays Keras 3 either way (weights digests
measured equal with and without the variable). tf2onnx does not need Keras 2
either: its from_keras traces through Keras 2 internals, but the exporter here
(suite.exporters.tf2onnx_keras) hands tf2onnx a tf.function of the model
(measured on Keras 3: LSTM, MobileNetV2 and an MLP convert; ORT matches TF eager
within 3e-5).
"""

from __future__ import annotations

import logging
import os
import warnings

from suite.core.budget import cap_memory
from suite.workers import models
from suite.workers.settings import WorkerSettings

# Set before TensorFlow is imported. 2 hides C++ INFO and WARNING lines; a few
# absl lines printed before absl::InitializeLog (oneDNN, "no cuda drivers") still
# appear once per process: no environment variable silences them in TF 2.21.
_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "AUTOGRAPH_VERBOSITY": "0"}


def init_worker(settings: WorkerSettings) -> None:
    """Worker initializer: the memory budget, quiet TensorFlow, import it with the run's thread pools,
    and load the zoo registry."""
    cap_memory(settings.memory_bytes)
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TF is imported; see the module docstring
    import tensorflow as tf

    # Thread pools are fixed before TF runs its first op; the latency stage records them.
    if settings.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(settings.intra_op_threads)
        tf.config.threading.set_inter_op_parallelism_threads(settings.inter_op_threads or 1)
    tf.get_logger().setLevel(logging.ERROR)
    quiet_absl()
    # onnx-tf's pooling handlers turn absl's verbosity back to INFO on every trace,
    # including the one inside SavedModel writing; drop absl's INFO records here.
    logging.getLogger("absl").addFilter(lambda record: record.levelno >= logging.WARNING)
    for name in ("tf2onnx", "onnx-tf", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx_tf", "tensorflow_probability"):
        warnings.filterwarnings("ignore", module=module)
    models.load(settings)


def quiet_absl() -> None:
    # onnx-tf's pooling handlers call absl.logging.set_verbosity(INFO) on every trace,
    # after which SavedModel writing logs a handful of INFO lines per model.
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)
