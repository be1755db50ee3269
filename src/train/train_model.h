// The training-side view of a BitLlama: latent float parameters in one arena, and the exact forward + backward
// pass over a batch (written by hand in the style of llm.c). The forward computes the same function as the
// inference path (src/model/bitllama.cpp, DESIGN §2), so a trained model exported to .bitt gives the same loss.
//
// Interface shared by the training core (params, forward/backward, matmuls) and the training loop (optimiser,
// schedule, data, checkpoints, CLI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"

namespace ttt {

class ThreadPool;  // src/backend/thread_pool.h

struct ParamTensor {
    std::string name;              // upstream name, e.g. "layers.0.ttt.down.weight"
    std::vector<int64_t> shape;    // row-major [out, in] for matrices
    size_t offset = 0;             // into TrainParams::values
    size_t size = 0;               // element count
    bool ternary = false;          // a BitLinear latent weight
    bool weight_decay = false;     // AdamW decays it (BitLinear latents and the LM head; not norms, not embeddings)
};

struct TrainParams {
    ModelConfig config;
    std::vector<ParamTensor> tensors;  // fixed, documented order
    std::vector<float> values;         // the arena

    static TrainParams create(const ModelConfig& config);  // layout, all zeros
    // recall_init (delta kind): start every layer as a previous-token lookup (below), so copying is there to refine
    // rather than to be discovered.
    void init_random(uint64_t seed, float decay_bias = 4.0f, bool recall_init = false);                       // deterministic initialisation (documented in the .cpp)
    const ParamTensor* find(const std::string& name) const;
    float* data(const std::string& name);
    const float* data(const std::string& name) const;
};

struct Batch {
    int32_t B = 0, T = 0;
    const int32_t* inputs = nullptr;   // [B, T]
    const int32_t* targets = nullptr;  // [B, T]; each row is one sequence, from a zero TTT state unless souls_in
    // Delta kind, stream training (train/data.h): the souls the rows start from, [L][B][train_soul_size] (null: zero
    // souls), and where the souls after the batch go (null: not kept). The start is a constant of the step: no
    // gradient flows into it (truncated backpropagation through time). The two must not overlap.
    const float* souls_in = nullptr;
    float* souls_out = nullptr;
};

// Floats of one row's soul in one layer of a delta-kind model (fast weights W, then the token-mixing tail, as
// ttt_delta_soul_size); 0 for upstream's layer, whose training always starts from a zero state.
size_t train_soul_size(const ModelConfig& config);

// Activations kept for the backward pass, reused between steps (contents private to forward_backward.cpp; a
// complete type so std::unique_ptr<TrainWorkspace> can be destroyed anywhere).
struct TrainWorkspace {
    struct Impl;
    std::unique_ptr<Impl> impl;
    TrainWorkspace();
    ~TrainWorkspace();
    TrainWorkspace(const TrainWorkspace&) = delete;
    TrainWorkspace& operator=(const TrainWorkspace&) = delete;
};

std::unique_ptr<TrainWorkspace> make_workspace(const ModelConfig& config, int32_t B, int32_t T);

// Mean cross-entropy over the B·T targets. If grads is not null it must hold values.size() floats and receives
// d(loss)/d(values) ADDED to what it holds (so gradient accumulation is a loop). Deterministic for a given thread
// count (the current kernels even give the same bits for any thread count on a given CPU: no reduction is split
// between threads). The workspace is re-sized when the batch shape differs from the one it was made for. Throws
// Error(TTT_ERR_INVALID_ARGUMENT) for an input or target outside [0, vocab_size).
double train_forward_backward(const TrainParams& params, const Batch& batch, float* grads, ThreadPool& pool,
                              TrainWorkspace& workspace);

// ---- additions for checks and diagnostics (the function above is train_forward_backward with default options) ----

struct ForwardOptions {
    // Relaxed mode, for gradient checks: every quantiser is replaced by the identity (a BitLinear multiplies by
    // W/s, or by W when bitlinear_scale; the int8 activation fake quantisation is skipped) and every scale s is the
    // constant frozen_scales[k] (one per BitLinear, in layout order; see bitlinear_scales). The function is then
    // smooth and the straight-through gradient of the exact mode is its exact gradient.
    bool relaxed = false;
    std::vector<double> frozen_scales;
    // If set (float path only), receives the logits (B, T, V) of the forward.
    float* logits_out = nullptr;
};

double train_forward_backward(const TrainParams& params, const Batch& batch, float* grads, ThreadPool& pool,
                              TrainWorkspace& workspace, const ForwardOptions& options);

// The same computation in float64 on values[params.values.size()] (params supplies the config and layout), for
// finite-difference checks. grads, if not null, receives the gradient ADDED.
double train_forward_backward_f64(const TrainParams& params, const double* values, const Batch& batch,
                                  double* grads, ThreadPool& pool, const ForwardOptions& options = {});

// s = mean|W| + 1e-6 of every BitLinear latent of params.values, in layout order (per layer: ttt.down, ttt.up,
// mlp.gate_proj, mlp.up_proj, mlp.down_proj).
std::vector<double> bitlinear_scales(const TrainParams& params);

}  // namespace ttt
