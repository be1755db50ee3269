// The CUDA part of the build. The CUDA backend (kernels and their launchers) arrives with its own issue; this file
// keeps the CUDA toolchain path of the build exercised so it cannot rot: it is compiled whenever nvcc is found.
#include <cuda_runtime.h>

namespace ttt {

// Number of CUDA devices visible, 0 when none or when the driver is absent (never an error).
int cuda_device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
    return n;
}

}  // namespace ttt
