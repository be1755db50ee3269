// What this x86 CPU can run, read once from cpuid, with the operating system's consent read from xgetbv: a CPU may
// have AVX-512 while the kernel does not save zmm state (then using it faults), so both must agree.
// Knows nothing of kernels; ternary_kernels_dispatch.cpp turns these bits into a CpuLevel.
#pragma once

namespace ttt {

struct CpuFeatures {
    bool avx2 = false;     // AVX2 + FMA + OS saves ymm state
    bool avx512 = false;   // AVX-512 F, BW, VL, VNNI + OS saves zmm/opmask state
    bool f16c = false;     // half ↔ float conversions (vcvtph2ps), with OS ymm state (the attention kernels' f16 cache)
};

const CpuFeatures& cpu_features();  // detected on first call (thread-safe static)

}  // namespace ttt
