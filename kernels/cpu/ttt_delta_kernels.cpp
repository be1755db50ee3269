// ttt_delta_kernel (ttt_kernels.h): the scalar level is ttt_delta_rows<float> as the portable build compiles it; the
// AVX2 and AVX-512 levels are the same source compiled for those instruction sets (ttt_delta_kernels_avx2.cpp,
// ttt_delta_kernels_avx512.cpp), handed out only when cpu_features() says the CPU runs them.
#include "cpu/cpu_features.h"
#include "cpu/ttt_delta_ref.h"
#include "cpu/ttt_kernels.h"

namespace ttt {

#if defined(__x86_64__) || defined(__i386__)
void ttt_delta_avx2(const TttDeltaArgs& a, const float* kr, const float* v, const float* qr, const float* gates,
                    size_t n, float* W, float* tail, float* out, size_t h0, size_t h1);
void ttt_delta_avx512(const TttDeltaArgs& a, const float* kr, const float* v, const float* qr, const float* gates,
                      size_t n, float* W, float* tail, float* out, size_t h0, size_t h1);
#endif

namespace {

void ttt_delta_scalar(const TttDeltaArgs& a, const float* kr, const float* v, const float* qr, const float* gates,
                      size_t n, float* W, float* tail, float* out, size_t h0, size_t h1) {
    ttt_delta_rows_heads<float>(delta_params<TttDeltaParams<float>>(a), kr, v, qr, gates, n, W, tail, out, h0, h1);
}

}  // namespace

TttDeltaFn ttt_delta_kernel(CpuLevel level) {
#if defined(__x86_64__) || defined(__i386__)
    if (level == CpuLevel::avx512 && cpu_features().avx512) return ttt_delta_avx512;
    if (level != CpuLevel::scalar && cpu_features().avx2) return ttt_delta_avx2;
#else
    (void)level;
#endif
    return ttt_delta_scalar;
}

}  // namespace ttt
