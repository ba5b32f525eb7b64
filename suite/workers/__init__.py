"""Code that runs inside worker processes (suite.workers.isolate), never in the pytest process.

One module per kind of work: torch models (torch_models), Keras models (keras_models),
onnx-tf (onnx_tf) and tf2onnx (tf2onnx_convert) in the TF worker (started by
tf_process.init_worker), and ONNX tools that can crash in C++ (onnx_tools; the graph
transforms of suite.run.transforms and the provider probe of suite.runtime.placement also run in
the onnx worker, each declared beside what it serves). The parent imports these modules only to
name a function for a worker call (CaseRunner.call takes the function object); ruff's
banned-api keeps every other module from importing them.
"""
