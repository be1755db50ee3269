// The avx2 level of ttt_delta_kernel (ttt_kernels.h): ttt_delta_ref.h compiled for AVX2
// (ttt_delta_kernels_body.h says how).
#define TTT_DELTA_TARGET "avx2"
#define TTT_DELTA_KERNEL_NAME ttt_delta_avx2
#include "cpu/ttt_delta_kernels_body.h"
