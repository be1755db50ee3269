// The BitLlama forward pass (DESIGN §2) over a batch of rows: the tokens of one or many sequences, each sequence
// with its own soul. It composes backend operations only; no kernels, no files, no host arithmetic in between.
//
//   x = E[token]                                                            every row of the batch
//   per layer:  h = x + up(TTT(l2norm(down(RMSNorm₁(x)))))                  TTT per sequence, chunked, on its soul
//               y = h + W₂(silu(W₁·n) ⊙ W₃·n),  n = RMSNorm₂(h)
//   logits = head(RMSNorm_f(y_L))                                           only for the rows that want them
//
// Layer-major: a prompt runs each layer over all its tokens, so every projection is a matrix-matrix product and
// only the d×d recurrence is sequential. Every op computes each row as the token-at-a-time pass does, so prefill,
// decode, any split and any batching of sequences give the same bits (on a given backend and kernel level).
//
// Placement: each layer runs on a backend of its own choosing (the embedding with the first layer, the head with
// the last); where two neighbours do not share memory, the residual rows cross through the host.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/prepared_model.h"
#include "model/soul_state.h"

namespace ttt {

struct LayerPlacement {
    Backend* backend = nullptr;
    std::shared_ptr<const PreparedModel> weights;  // prepared on `backend` (at least the layers placed there)
};

// Every layer on one backend (the common placement).
inline std::vector<LayerPlacement> all_layers_on(Backend* backend, const std::shared_ptr<const PreparedModel>& prepared) {
    return std::vector<LayerPlacement>(prepared->num_layers(), LayerPlacement{backend, prepared});
}

enum class LogitRows { none, last, all };

// One sequence's part of a batch: n tokens run on `soul`. logits: nullptr, or room for V floats (last) or n·V (all).
struct SequenceInput {
    const int32_t* tokens = nullptr;
    size_t n = 0;
    SoulState* soul = nullptr;
    LogitRows want = LogitRows::none;
    float* logits = nullptr;
};

class Forward {
public:
    // placement: one entry per layer. max_rows: rows per pass (longer inputs run in several passes, exactly).
    Forward(const ModelConfig& config, std::vector<LayerPlacement> placement, size_t max_rows = 256);
    ~Forward();
    Forward(const Forward&) = delete;
    Forward& operator=(const Forward&) = delete;

    // Run every sequence; souls advance by their token counts. Token ids must already be checked. Sequences must
    // have distinct souls. Bit-identical to running them one at a time, token by token.
    void run(const SequenceInput* seqs, size_t n_seqs);
    size_t max_rows() const { return max_rows_; }
    // The backend of every layer (where a soul run by this forward is placed: SoulState::place).
    std::vector<Backend*> layer_backends() const {
        std::vector<Backend*> b;
        for (const LayerPlacement& p : placement_) b.push_back(p.backend);
        return b;
    }
    const ModelConfig& config() const { return config_; }

private:
    struct Workspace;
    struct Part {
        size_t seq, offset, n;  // tokens [offset, offset + n) of seqs[seq]
    };
    Workspace& workspace_for(Backend* be);
    void run_pass(const SequenceInput* seqs, const std::vector<Part>& parts);
    void run_layer(size_t l, Workspace& ws, size_t M, const std::vector<SequenceRows>& rows,
                   std::vector<TttStateRef>& states);
    void run_attention(size_t l, Workspace& ws, size_t M, const SequenceInput* seqs, const std::vector<Part>& parts,
                       const std::vector<SequenceRows>& rows);  // arch llama / bitnet (model/attention_block.h)
    struct LogitTargets {
        std::vector<size_t> rows;  // rows of the pass
        std::vector<float*> dst;   // host destination of each
    };
    LogitTargets logit_targets(const SequenceInput* seqs, const std::vector<Part>& parts) const;
    void compute_logits(const LogitTargets& targets, Workspace& ws, size_t M);

    ModelConfig config_;
    std::vector<LayerPlacement> placement_;
    size_t max_rows_;
    std::vector<std::unique_ptr<Workspace>> workspaces_;  // one per distinct backend
    std::vector<float> host_rows_;                        // residual rows crossing between backends
    std::vector<float> rope_inv_freq_;                    // attention models: RoPE frequencies
};

}  // namespace ttt
