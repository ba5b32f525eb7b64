"""Shims that let unmaintained converters import on the current stack (see onnx_tf_compat)."""
