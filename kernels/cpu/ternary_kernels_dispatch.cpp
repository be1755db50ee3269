// Which level runs: the CPU's features (cpu_features.h), lowered by TTT_CPU_LEVEL for tests and benchmarks. The
// one place that hands out a SIMD table, and only after checking that the CPU runs it.
#include <cstdlib>
#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/ternary_kernels.h"
#include "cpu/ternary_kernels_levels.h"

namespace ttt {

const char* cpu_level_name(CpuLevel level) {
    switch (level) {
        case CpuLevel::scalar: return "scalar";
        case CpuLevel::avx2: return "avx2";
        case CpuLevel::avx512: return "avx512";
    }
    return "unknown";
}

CpuLevel cpu_detected_level() {
    const CpuFeatures& f = cpu_features();
    if (f.avx512 && ternary_kernels_avx512()) return CpuLevel::avx512;
    if (f.avx2 && ternary_kernels_avx2()) return CpuLevel::avx2;
    return CpuLevel::scalar;
}

CpuLevel cpu_active_level() {
    CpuLevel level = cpu_detected_level();
    if (const char* env = std::getenv("TTT_CPU_LEVEL")) {
        CpuLevel wanted = level;
        if (std::strcmp(env, "scalar") == 0) wanted = CpuLevel::scalar;
        else if (std::strcmp(env, "avx2") == 0) wanted = CpuLevel::avx2;
        else if (std::strcmp(env, "avx512") == 0) wanted = CpuLevel::avx512;
        if (int(wanted) < int(level)) level = wanted;
    }
    return level;
}

const TernaryKernels& ternary_kernels(CpuLevel level) {
    const CpuLevel have = cpu_detected_level();
    if (int(level) > int(have)) level = have;
    if (level == CpuLevel::avx512) return *ternary_kernels_avx512();
    if (level == CpuLevel::avx2) return *ternary_kernels_avx2();
    return ternary_kernels_scalar();
}

}  // namespace ttt
