"""A model whose TensorFlow conversion kills the TF worker, as a crashing converter would.

Loaded with --zoo-module, this module is imported in every process, the TF
worker included; there it wraps onnx-tf's entry point so that converting the
model whose input is named "crash_me" ends the worker process with SIGSEGV.
"""

import multiprocessing
import os
import signal

from zoo import InputSpec, Task, register_model


@register_model(
    inputs=[InputSpec("crash_me", ("batch", 6))],
    dims={"batch": 1},
    other_dims=[{"batch": 2}, {"batch": 3}],
    task=Task.REGRESSION,
    tags={"fake"},
)
def fake_tf_crash():
    import torch

    return torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Tanh())


def _crash_during_conversion() -> None:
    from suite.workers import onnx_tf  # noqa: TID251 - patched inside the TF worker

    real = onnx_tf.onnx_tf_run_sizes

    def run_sizes(onnx_path, inputs_by_size):
        if "crash_me" in inputs_by_size[0]:
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(onnx_path, inputs_by_size)

    onnx_tf.onnx_tf_run_sizes = run_sizes


if multiprocessing.current_process().name == "zoo-tf-worker":
    _crash_during_conversion()
