// C ABI: upstream's single TTT layer.
#include <cmath>
#include <limits>

#include "api/guard.h"
#include "api/handles.h"
#include "common/log.h"

using namespace ttt;

extern "C" {

TTT_API ttt_status TTT_CALL ttt_layer_create_seeded(size_t hidden_dim, float inner_lr, uint64_t seed, ttt_layer** out_layer) {
    return guarded("ttt_layer_create", [&] {
        require_pointer(out_layer, "out_layer");
        *out_layer = nullptr;
        if (hidden_dim < 4 || hidden_dim > 65536)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "hidden_dim " + std::to_string(hidden_dim) + " must be in 4..65536");
        if (!(inner_lr >= 0.0f && inner_lr <= 100.0f))
            throw Error(TTT_ERR_INVALID_ARGUMENT, "inner_lr must be a number in [0, 100]");
        *out_layer = new ttt_layer(hidden_dim, inner_lr, seed);
    });
}

TTT_API ttt_status TTT_CALL ttt_layer_create(size_t hidden_dim, float inner_lr, ttt_layer** out_layer) {
    return ttt_layer_create_seeded(hidden_dim, inner_lr, 0, out_layer);
}

TTT_API ttt_status TTT_CALL ttt_layer_forward(ttt_layer* layer, const float* input, size_t seq_len, float* output) {
    return guarded("ttt_layer_forward", [&] {
        require_pointer(layer, "layer");
        require_pointer(input, "input");
        require_pointer(output, "output");
        if (layer->magic != kLayerMagic) throw Error(TTT_ERR_INVALID_ARGUMENT, "argument 'layer' is not a live ttt_layer handle");
        const size_t D = layer->layer.hidden_dim();
        if (seq_len > std::numeric_limits<size_t>::max() / sizeof(float) / D)
            throw Error(TTT_ERR_DIMENSION_MISMATCH, "seq_len * hidden_dim overflows");
        for (size_t i = 0; i < seq_len * D; ++i)
            if (!std::isfinite(input[i]))
                throw Error(TTT_ERR_INVALID_ARGUMENT, "input[" + std::to_string(i) + "] is not a finite number");
        if (layer->busy.exchange(true)) throw Error(TTT_ERR_BUSY, "the layer is in use by another thread");
        struct Release {
            ttt_layer* l;
            ~Release() { l->busy.store(false); }
        } release{layer};
        layer->layer.forward(input, seq_len, output);
    });
}

TTT_API void TTT_CALL ttt_layer_destroy(ttt_layer* layer) {
    if (!layer || layer->magic != kLayerMagic) return;
    if (layer->busy.exchange(true)) {  // as ttt_destroy: never free under a running call
        log_message(TTT_LOG_ERROR, "ttt_layer_destroy: the layer is in use by another thread; nothing was freed");
        return;
    }
    layer->magic = 0;
    delete layer;
}

}  // extern "C"
