#include "backend/backend.h"

#include "cpu/ops_ref.h"
#include "cpu/ternary_ref.h"

namespace ttt {

const Backend& cpu_reference_backend() {
    static const Backend backend = {
        "cpu-reference",  ternary_matvec_ref, matvec_f32_ref,     rmsnorm_ref,      fake_quant_int8_ref,
        swiglu_ref,       l2_normalize_ref,   ttt_accumulate_ref, ttt_apply_ref,
    };
    return backend;
}

bool cuda_backend_compiled() {
#ifdef TTT_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

}  // namespace ttt
