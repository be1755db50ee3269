#include "model/forward.h"

#include <algorithm>

#include "common/error.h"
#include "model/backend_layer_exec.h"
#include "model/layer_program.h"

namespace ttt {

namespace {
constexpr size_t kLogitRows = 16;  // rows of logits computed (and moved to the host) at a time
}  // namespace

// Activations of one pass on one backend, in that backend's memory, sized for max_rows rows.
struct Forward::Workspace {
    Backend* backend = nullptr;
    std::unique_ptr<Buffer> buffer;
    Tensor x, xn, h, branch, f, z, gate, up, act, fq, norm_out, logits;
    Tensor dk, dv, dq, dgates;  // delta kind: raw keys, values, raw queries, gate logits (empty otherwise)
    QuantTensor q;
    std::unique_ptr<AttentionWorkspace> attention;  // arch llama / bitnet

    Workspace(Backend* be, const ModelConfig& c, size_t rows) : backend(be) {
        const size_t D = size_t(c.hidden_dim), d = size_t(c.ttt_dim()), I = size_t(c.intermediate_dim);
        const size_t V = size_t(c.vocab_size), K = std::max(D, I);
        const size_t dd = c.is_delta() ? d : 0, G = c.is_delta() ? 2 * size_t(c.ttt_heads) : 0;
        struct Slot {
            Tensor* t;
            ElemType type;
            size_t cols;
        };
        const Slot slots[] = {{&x, ElemType::f32, D},  {&xn, ElemType::f32, D},   {&h, ElemType::f32, D},
                              {&branch, ElemType::f32, D}, {&f, ElemType::f32, d}, {&z, ElemType::f32, d},
                              {&gate, ElemType::f32, I}, {&up, ElemType::f32, I}, {&act, ElemType::f32, I},
                              {&fq, ElemType::f32, K},  {&norm_out, ElemType::f32, D},
                              {&q.q, ElemType::i8, K},  {&q.a, ElemType::f32, 1},
                              {&dk, ElemType::f32, dd}, {&dv, ElemType::f32, dd}, {&dq, ElemType::f32, dd},
                              {&dgates, ElemType::f32, G}};
        size_t total = 0;
        auto bytes_of = [&](const Slot& s) { return (rows * s.cols * (s.type == ElemType::f32 ? 4 : 1) + 63) / 64 * 64; };
        for (const Slot& s : slots) total += bytes_of(s);
        // The LM head runs over tiles of kLogitRows rows: V floats per row, whatever the pass size.
        total += (kLogitRows * V * 4 + 63) / 64 * 64;
        buffer = be->alloc(total);
        char* p = static_cast<char*>(buffer->data());
        for (const Slot& s : slots) {
            *s.t = Tensor(p, s.type, rows, s.cols);
            p += bytes_of(s);
        }
        logits = Tensor(p, ElemType::f32, kLogitRows, V);
        if (c.is_attention()) attention = std::make_unique<AttentionWorkspace>(*be, c, rows);
    }
};

Forward::Forward(const ModelConfig& config, std::vector<LayerPlacement> placement, size_t max_rows)
    : config_(config), placement_(std::move(placement)), max_rows_(std::max<size_t>(1, max_rows)) {
    if (placement_.size() != size_t(config_.num_layers))
        throw Error(TTT_ERR_INVALID_ARGUMENT, "placement has " + std::to_string(placement_.size()) +
                                                  " layers, the model " + std::to_string(config_.num_layers));
    for (size_t l = 0; l < placement_.size(); ++l) {
        const LayerPlacement& p = placement_[l];
        if (!p.backend || !p.weights || p.weights->num_layers() != placement_.size())
            throw Error(TTT_ERR_INVALID_ARGUMENT, "layer " + std::to_string(l) + " has no backend or weights");
        // Every op the layer runs, the ternary products with the activation type their weights declare.
        const ActType act = config_.is_attention() ? ActType::f32 : p.weights->layers[l].mlp_gate.act;
        std::vector<std::pair<Op, ActType>> needed = {
            {Op::embed, ActType::f32},      {Op::rmsnorm, ActType::f32}, {Op::dense_matmul, ActType::f32},
            {Op::swiglu, ActType::f32},     {Op::add, ActType::f32},     {Op::l2_normalize, ActType::f32},
            {config_.is_delta() ? Op::ttt_delta : Op::ttt_chunked, ActType::f32}, {Op::gather_rows, ActType::f32}};
        if (act == ActType::i8) needed.insert(needed.end(), {{Op::quantize_i8, act}, {Op::ternary_i8, act}});
        else if (act == ActType::f32_fake_i8) needed.insert(needed.end(), {{Op::fake_quant_i8, act}, {Op::ternary_f32, act}});
        else needed.push_back({Op::ternary_f32, act});
        if (config_.is_attention()) needed = attention_ops_needed(p.weights->attn_layers[l]);
        for (const auto& [op, type] : needed)
            if (!p.backend->supports(op, type))
                throw Error(TTT_ERR_UNSUPPORTED, std::string("backend ") + p.backend->name() + " lacks operation " +
                                                     std::to_string(int(op)) + " that layer " + std::to_string(l) + " needs");
        workspace_for(p.backend);
    }
    // Host staging for residual rows crossing backends, sized once.
    host_rows_.resize(max_rows_ * size_t(config_.hidden_dim));
    if (config_.is_attention()) rope_inv_freq_ = rope_frequencies(config_);
}

Forward::~Forward() = default;

Forward::Workspace& Forward::workspace_for(Backend* be) {
    for (auto& ws : workspaces_)
        if (ws->backend == be) return *ws;
    workspaces_.push_back(std::make_unique<Workspace>(be, config_, max_rows_));
    return *workspaces_.back();
}

void Forward::run(const SequenceInput* seqs, size_t n_seqs) {
    // Two sequences on one soul would race in the recurrence and double-advance the position.
    std::vector<const SoulState*> souls(n_seqs);
    for (size_t i = 0; i < n_seqs; ++i) souls[i] = seqs[i].soul;
    std::sort(souls.begin(), souls.end());
    if (std::adjacent_find(souls.begin(), souls.end()) != souls.end())
        throw Error(TTT_ERR_INVALID_ARGUMENT, "a batch holds two sequences on the same soul");
    // Every soul must be this model's and its state where its layer runs (a context places its soul on its
    // backends; a soul in host memory serves backends whose memory is the host's).
    for (size_t i = 0; i < n_seqs; ++i) {
        const SoulState& soul = *seqs[i].soul;
        if (size_t(soul.num_layers) != placement_.size() || soul.w.size() != placement_.size())
            throw Error(TTT_ERR_INVALID_ARGUMENT, "the soul of sequence " + std::to_string(i) + " has " +
                                                      std::to_string(soul.num_layers) + " layers, the model " +
                                                      std::to_string(placement_.size()));
        for (size_t l = 0; l < placement_.size(); ++l) {
            const Backend& runner = *placement_[l].backend;
            const bool ok = config_.is_attention()
                                ? l >= soul.kv.k.size() || block_usable_by(soul.kv.k[l], runner)
                                : block_usable_by(soul.w[l], runner) && block_usable_by(soul.pending[l], runner);
            if (!ok)
                throw Error(TTT_ERR_INVALID_STATE, "the soul of sequence " + std::to_string(i) + " is not in the memory of "
                                                   "backend " + runner.name() + ", which runs layer " +
                                                   std::to_string(l) + " (place the soul on the forward's backends)");
        }
    }
    // Attention models: every sequence's KV cache must have room for all its tokens, checked before anything runs.
    if (config_.is_attention())
        for (size_t i = 0; i < n_seqs; ++i) {
            KvCache& kv = seqs[i].soul->kv;
            if (!kv.configured()) throw Error(TTT_ERR_INVALID_STATE, "the context has no KV cache for this model");
            if (kv.type != seqs[0].soul->kv.type)
                throw Error(TTT_ERR_INVALID_ARGUMENT, "a batch mixes contexts with different KV cache types");
            kv.check_room(seqs[i].soul->position, seqs[i].n);
            kv.reserve(seqs[i].soul->position + seqs[i].n);
        }
    // Cut the batch into passes of at most max_rows rows. A sequence may straddle two passes: its soul carries
    // the state across, and the chunk rule counts from its position, so the split changes nothing.
    std::vector<size_t> done(n_seqs, 0);
    size_t s = 0;
    while (s < n_seqs) {
        std::vector<Part> parts;
        size_t rows = 0;
        while (s < n_seqs && rows < max_rows_) {
            const size_t k = std::min(seqs[s].n - done[s], max_rows_ - rows);
            if (k) parts.push_back({s, done[s], k});
            rows += k;
            done[s] += k;
            if (done[s] == seqs[s].n) ++s;
        }
        if (!parts.empty()) run_pass(seqs, parts);
    }
}

void Forward::run_layer(size_t l, Workspace& ws, size_t M, const std::vector<SequenceRows>& rows,
                        std::vector<TttStateRef>& states) {
    const size_t D = size_t(config_.hidden_dim), d = size_t(config_.ttt_dim()), I = size_t(config_.intermediate_dim);
    const size_t K = std::max(D, I), G = 2 * size_t(config_.ttt_heads);
    BackendLayerExec::Slots s;
    s.x = ws.x.reshape(M, D);
    s.normed = ws.xn.reshape(M, D);
    s.h = ws.h.reshape(M, D);
    s.branch = ws.branch.reshape(M, D);
    s.features = ws.f.reshape(M, d);
    s.ttt_out = ws.z.reshape(M, d);
    s.gate = ws.gate.reshape(M, I);
    s.up = ws.up.reshape(M, I);
    s.act = ws.act.reshape(M, I);
    s.fake_quantised = ws.fq.reshape(M, K);
    s.quantised = {ws.q.q.reshape(M, K), ws.q.a.reshape(M, 1)};
    if (config_.is_delta()) {
        s.key = ws.dk.reshape(M, d);
        s.value = ws.dv.reshape(M, d);
        s.query = ws.dq.reshape(M, d);
        s.gates = ws.dgates.reshape(M, G);
    }
    BackendLayerExec ex(*ws.backend, placement_[l].weights->layers[l], config_, s, rows, states);
    bitllama_layer(ex, s.x);
}

// An attention layer over the pass: each sequence's cache of layer l, from its position before the pass.
void Forward::run_attention(size_t l, Workspace& ws, size_t M, const SequenceInput* seqs, const std::vector<Part>& parts,
                            const std::vector<SequenceRows>& rows) {
    std::vector<KvCacheRef> caches(parts.size());
    std::vector<uint64_t> positions(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
        SoulState& soul = *seqs[parts[i].seq].soul;
        caches[i] = soul.kv.layer(l, soul.position);
        positions[i] = soul.position;
    }
    const AttentionPass pass{M, rows.data(), caches.data(), positions.data(), parts.size(), rope_inv_freq_.data(),
                             seqs[parts[0].seq].soul->kv.type};
    run_attention_layer(*ws.backend, *ws.attention, config_, placement_[l].weights->attn_layers[l],
                        ws.x.reshape(M, size_t(config_.hidden_dim)), pass);
}

void Forward::run_pass(const SequenceInput* seqs, const std::vector<Part>& parts) {
    const size_t D = size_t(config_.hidden_dim), L = placement_.size();
    // Everything the pass needs on the host is allocated before the first soul changes.
    size_t M = 0;
    std::vector<int32_t> tokens;
    std::vector<SequenceRows> rows;
    for (const Part& p : parts) {
        rows.push_back({M, p.n});
        tokens.insert(tokens.end(), seqs[p.seq].tokens + p.offset, seqs[p.seq].tokens + p.offset + p.n);
        M += p.n;
    }
    LogitTargets targets = logit_targets(seqs, parts);

    Workspace* ws = &workspace_for(placement_[0].backend);
    ws->backend->embed(tokens.data(), placement_[0].weights->embed, ws->x.reshape(M, D));
    std::vector<TttStateRef> states(parts.size());
    for (size_t l = 0; l < L; ++l) {
        Workspace& next = workspace_for(placement_[l].backend);
        if (&next != ws) {
            // A layer boundary between backends: the residual rows move once (download, upload).
            ws->backend->download(ws->x.reshape(M, D), host_rows_.data());
            next.backend->upload(next.x.reshape(M, D), host_rows_.data());
            ws = &next;
        }
        if (config_.is_attention()) {
            run_attention(l, *ws, M, seqs, parts, rows);
            continue;
        }
        for (size_t i = 0; i < parts.size(); ++i) {
            SoulState& soul = *seqs[parts[i].seq].soul;
            states[i] = {soul.w[l].floats(), soul.pending[l].floats(), soul.position};
        }
        run_layer(l, *ws, M, rows, states);
    }
    ws->backend->sync();
    for (const Part& p : parts) {
        SoulState& soul = *seqs[p.seq].soul;
        soul.position += p.n;
        soul.level += p.n;
    }
    compute_logits(targets, *ws, M);
}

// The rows of this pass whose logits are wanted, and where each goes on the host.
Forward::LogitTargets Forward::logit_targets(const SequenceInput* seqs, const std::vector<Part>& parts) const {
    const size_t V = size_t(config_.vocab_size);
    LogitTargets t;
    size_t row = 0;
    for (const Part& p : parts) {
        const SequenceInput& s = seqs[p.seq];
        if (s.logits && s.want == LogitRows::all)
            for (size_t i = 0; i < p.n; ++i) {
                t.rows.push_back(row + i);
                t.dst.push_back(s.logits + (p.offset + i) * V);
            }
        else if (s.logits && s.want == LogitRows::last && p.offset + p.n == s.n) {
            t.rows.push_back(row + p.n - 1);
            t.dst.push_back(s.logits);
        }
        row += p.n;
    }
    return t;
}

void Forward::compute_logits(const LogitTargets& t, Workspace& ws, size_t M) {
    const size_t D = size_t(config_.hidden_dim), V = size_t(config_.vocab_size);
    const std::vector<size_t>& rows = t.rows;
    const std::vector<float*>& dst = t.dst;
    if (rows.empty()) return;
    // RMSNorm_f is row-wise, so normalising only the gathered rows gives the same values.
    Backend& be = *ws.backend;
    const PreparedModel& w = *placement_.back().weights;
    const size_t n = rows.size();
    for (size_t b = 0; b < n; b += kLogitRows) {
        const size_t k = std::min(kLogitRows, n - b);
        const Tensor g = ws.norm_out.reshape(k, D), out = ws.logits.reshape(k, V);
        be.gather_rows(ws.x.reshape(M, D), rows.data() + b, k, g);
        be.rmsnorm(g, w.norm_f, config_.norm_eps, g);
        be.dense_matmul(w.lm_head, g, out);
        // Straight to each row's destination (one copy; a CUDA backend makes these k row copies async).
        for (size_t i = 0; i < k; ++i) be.download(out.slice_rows(i, 1), dst[b + i]);
    }
}

}  // namespace ttt
