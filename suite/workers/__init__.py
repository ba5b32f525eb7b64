"""Worker processes: the code that runs inside them, and the machinery that starts and drives them.

The machinery (used by the pipeline and the plugin only):
    isolate          reusable worker processes: a segfault or a hang costs one case (a `crash` or
                     `timeout` row) and the worker restarts
    errors           how a worker call can fail, as data (and whether the failure is ours)
    settings         what a worker starts with (the run's modules, threads, the cache folder)

The work (one module per kind, never imported in the pytest process except to name a function):
    torch_models     torch models: build, eager reference, float64 floor, export
    keras_models     Keras models, in the TF worker
    tf_process       the TF worker's initializer (TF_USE_LEGACY_KERAS=1: onnx-tf's RNN handlers need Keras 2)
    onnx_tf          ONNX -> TensorFlow with onnx-tf, SavedModel export
    onnx_tf_compat   onnx-tf 1.10.0 (2022, unmaintained) on current onnx and Keras 3: the old
                     `onnx.mapping` tables rebuilt from onnx's dtype helpers, a stand-in for
                     `tensorflow_addons.seq2seq.hardmax`, and a fresh cell per RNN node (onnx-tf
                     1.10 reuses the first one's weights)
    onnx_tf_errors   reading onnx-tf's refusals (the op and version it does not implement)
    tf2onnx_convert  SavedModel -> ONNX with tf2onnx
    onnx_tools       ONNX tools that can crash in C++ (the version converter, quantizers); the graph
                     transforms of suite.run.transforms and the provider probe of
                     suite.runtime.placement also run in this onnx worker
    onnx_files       files from outside met first here: safe read, checker, first session, memory capped
    models           the registry a worker builds for itself

The pytest process imports neither torch nor TensorFlow: torch work runs in the torch worker,
TensorFlow work in the TF worker; they segfault when they share a process. Each worker starts
once per pytest process and is reused. The parent names a function for a call by its object
(CaseRunner.call); ruff's banned-api keeps every other module from importing the work modules.
"""
