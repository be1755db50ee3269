// The avx512 level of ttt_delta_kernel (ttt_kernels.h): ttt_delta_ref.h compiled for AVX-512 (F, VL, BW)
// (ttt_delta_kernels_body.h says how).
#define TTT_DELTA_TARGET "avx2,avx512f,avx512vl,avx512bw"
#define TTT_DELTA_KERNEL_NAME ttt_delta_avx512
#include "cpu/ttt_delta_kernels_body.h"
