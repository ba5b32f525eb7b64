"""ONNX files: what an export is (checks: checker, shape inference, op counts), reading files from
outside safely (safe_read), and finding them in folders (sources).
"""
