// The BitLlama forward pass (DESIGN §2), composed from backend operations; no kernels and no files here.
//
//   x = E[token]
//   per layer:  h = x + up(TTT(down(RMSNorm₁(x))))        TTT with chunked fast weights, see soul_state.h
//               y = h + W₂(silu(W₁·n) ⊙ W₃·n),  n = RMSNorm₂(h)
//   logits = head(RMSNorm_f(y_L))
//
// Tokens are processed one at a time with the chunk rule, so prefill, decode and any split of a sequence into
// calls compute the same function.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/soul_state.h"
#include "model/weights.h"

namespace ttt {

// Scratch buffers of one context, sized once for a model.
struct ForwardScratch {
    std::vector<float> x, xn, h, f, z, branch, gate, up, act, quant;
    explicit ForwardScratch(const ModelConfig& c);
};

// Run one token through the model, advancing the soul. logits: NULL or room for vocab_size floats.
void forward_token(const ModelWeights& m, const Backend& be, SoulState& soul, ForwardScratch& s, int32_t token,
                   float* logits);

}  // namespace ttt
