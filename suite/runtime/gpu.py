"""Whether this machine has an NVIDIA GPU a provider could run on, asked of the driver itself.

A GPU provider that fell back has usually logged a library it could not load; on a machine without
a GPU that is beside the point (installing the library would change nothing), so the fallback row
names the missing GPU first. The driver is asked only after a fallback: on a GPU machine the
provider has initialized CUDA by then anyway.
"""

from __future__ import annotations

import ctypes
import functools

# Providers that run on NVIDIA GPUs only.
GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "NvTensorRTRTXExecutionProvider")
DRIVER_LIBRARY = "libcuda.so.1"  # the driver's library: there is no GPU to use without it


@functools.cache
def gpu_absence(driver_library: str = DRIVER_LIBRARY) -> str:
    """Why no NVIDIA GPU can be used here, in words; "" when the driver reports at least one."""
    try:
        driver = ctypes.CDLL(driver_library)
    except OSError:
        return f"no NVIDIA driver ({driver_library} does not load)"
    status = driver.cuInit(0)
    if status != 0:
        return f"the NVIDIA driver found no usable GPU (cuInit returned {status})"
    count = ctypes.c_int(0)
    if driver.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return "the NVIDIA driver reports no GPU"
    return ""


def no_gpu_reason(provider: str, absence: str) -> str:
    """A GPU provider's fallback reason where the machine has no GPU (`absence`: gpu_absence())."""
    return (
        f"no GPU was found: {absence}; {provider} runs on NVIDIA GPUs only "
        "(`python -m suite.cli.gpu_setup` says what it also needs on a GPU machine)"
    )
