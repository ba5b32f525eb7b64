"""ONNX Runtime sessions that refuse a silent fallback (sessions), where nodes ran (placement),
provider requests and the onnxruntime inventory (providers), timing loops (timing), versions and
machine facts (environment).
"""
