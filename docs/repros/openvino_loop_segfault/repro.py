"""onnxruntime-openvino segfaults creating a session for model.onnx; the CPU provider runs it.

    pip install onnxruntime-openvino==1.24.1 numpy
    python repro.py        # exit 0: reproduced (SIGSEGV on OpenVINO, CPU runs); 1: not reproduced

Each session is created in a child process, so the crash is reported rather than suffered.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

MODEL = Path(__file__).with_name("model.onnx")
CREATE_AND_RUN = """
import sys, numpy as np, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=[sys.argv[2]])
x = np.random.default_rng(0).standard_normal((1, 10, 8)).astype(np.float32)
print(sys.argv[2], "ran:", session.get_providers(), session.run(None, {"x": x})[0].shape)
"""


def session_exit(provider: str) -> int:
    """The exit status of a child process that creates a session on `provider` and runs it once."""
    child = subprocess.run([sys.executable, "-c", CREATE_AND_RUN, str(MODEL), provider], check=False)
    return child.returncode


def main() -> int:
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}, providers {onnxruntime.get_available_providers()}")
    if "OpenVINOExecutionProvider" not in onnxruntime.get_available_providers():
        print("this onnxruntime has no OpenVINOExecutionProvider: install onnxruntime-openvino")
        return 2
    cpu, openvino = session_exit("CPUExecutionProvider"), session_exit("OpenVINOExecutionProvider")
    crashed = openvino == -signal.SIGSEGV
    print(f"CPU provider exit {cpu}; OpenVINO provider exit {openvino}" + (" (SIGSEGV)" if crashed else ""))
    print("reproduced" if crashed and cpu == 0 else "not reproduced")
    return 0 if crashed and cpu == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
