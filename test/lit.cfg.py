# -*- Python -*-
# lit configuration of tmix's regression tests (lit + FileCheck).

import os
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "TMIX"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tmix_obj_root, "test")
# Unit/ has its own config (GoogleTest); Reference/ holds no lit tests;
# Inputs/ folders hold files that tests read.
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Reference", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", config.llvm_shlib_ext))
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.llvm_lib_dir, "libmlir_runner_utils" + config.llvm_shlib_ext)))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils" + config.llvm_shlib_ext)))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.tmix_tools_dir, config.llvm_tools_dir]
tools = [
    "tmix-opt",
    "tmix-compile",
    "tmix-run",
    "not",
    "count",
    "split-file",
    ToolSubst("mlir-runner", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# GPU compile tests assemble the PTX tmix-gpu-pipeline produces with the
# configured toolkit's ptxas; without a toolkit they are unsupported.
ptxas = getattr(config, "tmix_ptxas", "")
if ptxas and os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
# Prints the assembly (PTX for format=isa) of the gpu.binary ops in its
# input, one after the other.
config.substitutions.append(
    ("%extract-gpu-asm",
     '"%s" "%s"' % (sys.executable,
                    os.path.join(config.tmix_src_root, "test", "Gpu", "extract-gpu-asm.py"))))

# A CUDA driver library over host memory (test/Runtime/FakeCudaDriver.c), for
# running CUDA artifacts' host code without a GPU (TMIXRT_CUDA_DRIVER).
config.substitutions.append(
    ("%fake-cuda-driver",
     os.path.join(config.tmix_obj_root, "test", "Runtime", "artifacts",
                  "libtmixrt_fake_cuda_driver" + config.llvm_shlib_ext)))

# A real CUDA device (the driver libcuda.so.1 with at least one device; the
# fake driver of TMIXRT_CUDA_DRIVER does not count): the feature `cuda-device`
# enables the tests that run compiled CUDA code (test/Cuda), and
# %cuda-chip is the --gpu-chip for device 0 (sm_90 from Hopper on, else
# sm_80). Without one, those tests are reported unsupported.
def probe_cuda_device():
    import ctypes
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return None, "no CUDA driver (%s)" % e
    if driver.cuInit(0) != 0:
        return None, "cuInit failed"
    count = ctypes.c_int(0)
    if driver.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
        return None, "no CUDA device"
    device, major = ctypes.c_int(0), ctypes.c_int(0)
    # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR of device 0
    if (driver.cuDeviceGet(ctypes.byref(device), 0) != 0 or
            driver.cuDeviceGetAttribute(ctypes.byref(major), 75, device) != 0):
        return None, "cannot read device 0's compute capability"
    return ("sm_90" if major.value >= 9 else "sm_80"), None

cuda_chip, cuda_reason = probe_cuda_device()
if cuda_chip:
    config.available_features.add("cuda-device")
    config.substitutions.append(("%cuda-chip", cuda_chip))
else:
    lit_config.note("tests that need a CUDA device are unsupported: " + cuda_reason)
config.substitutions.append(("%python", '"%s"' % sys.executable))
