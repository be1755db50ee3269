// The BitLlama training forward and hand-written backward over a batch (llm.c style): one arena of activations,
// one function that reads like DESIGN §2 top to bottom and then back up. Templated on the scalar so the same code
// runs in float (training) and double (finite-difference checks). The ops and their gradients are in train_ops.h.
//
//   N = B·T rows (one per token), D hidden, d = D/4 TTT width, I MLP width, V vocabulary, L layers.
//   x₀ = E[tokens]
//   per layer:  n₁ = RMSNorm₁(x);  f = down(n₁);  f̂ = f/(‖f‖+1e-6);  z = TTT(f̂);  h = x + up(z)
//               n₂ = RMSNorm₂(h);  x' = h + W₂(silu(W₁n₂) ⊙ W₃n₂)
//   logits = head · RMSNorm_f(x_L);  loss = mean_n CE(logits_n, target_n)
//
// BitLinear y = x·W̃ᵀ with the effective weight W̃ = Q or s·Q, materialised once per step as a float matrix
// (train_ops.h), so every linear layer is one GEMM over all N rows. With act_bits 8 the input rows are fake
// quantised first. Straight-through estimators (train_ops.h):
//   weights, unscaled:  ∂L/∂W = (1/s)·∂L/∂Q   (upstream W_ste = W/s + stopgrad(Q − W/s); s constant)
//   weights, scaled:    ∂L/∂W = ∂L/∂(sQ)      (identity; s gets no gradient)
//   activations (int8): ∂L/∂x = ∂L/∂x'        (identity)
// The TTT state is not detached: the backward runs through every chunk update (train_ops.h, ttt_backward).
//
// "ttt_kind": "delta" (docs/memory.md) replaces f, f̂, z = TTT(f̂) by
//   k_r = key(n₁), v = value(n₁), q_r = query(n₁), g = G·n₁ (float, unquantised n₁),  z = Delta(k_r, v, q_r, g)
// with the recurrence and its backward in kernels/cpu/ttt_delta_ref.h (train/ttt_delta_ops.h).
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "backend/thread_pool.h"
#include "common/error.h"
#include "model/layer_program.h"
#include "train/train_model.h"
#include "train/train_ops.h"
#include "train/ttt_delta_ops.h"

namespace ttt {

namespace {

// Index of the BitLinears of a layer, in layout order (5 in the upstream kind; the delta kind has its key in
// slot kDown and two more).
enum { kDown = 0, kUp = 1, kGate = 2, kMlpUp = 3, kMlpDown = 4, kValue = 5, kQuery = 6, kMaxLinears = 7 };
constexpr size_t kKey = kDown;
size_t linears_per_layer(const ModelConfig& c) { return c.is_delta() ? 7 : 5; }
// [out, in] of BitLinear k for hidden D, TTT width d, MLP width I.
struct LinearShape {
    size_t out, in;
};
inline LinearShape linear_shape(size_t k, size_t D, size_t d, size_t I) {
    const size_t out[kMaxLinears] = {d, D, I, I, D, d, d}, in[kMaxLinears] = {D, d, D, D, I, D, D};
    return {out[k], in[k]};
}

// Offsets of every tensor in the parameter arena, from the layout TrainParams::create makes (checked by name).
struct ParamIndex {
    size_t embed = 0, norm_f = 0, lm_head = 0;
    struct Layer {
        size_t norm1 = 0, norm2 = 0;
        size_t lin[kMaxLinears] = {};
        size_t conv_k = 0, conv_q = 0, gate = 0, gate_bias = 0;  // delta kind
    };
    std::vector<Layer> layers;

    explicit ParamIndex(const TrainParams& p) {
        const size_t L = size_t(p.config.num_layers);
        const bool delta = p.config.is_delta();
        const size_t per = delta ? 13 : 7;
        if (p.tensors.size() != 3 + per * L) fail_argument("TrainParams layout does not match its config");
        auto at = [&](size_t k, const std::string& name) {
            if (p.tensors[k].name != name) fail_argument("TrainParams layout: expected '" + name + "' at " + std::to_string(k));
            return p.tensors[k].offset;
        };
        embed = at(0, "embed.weight");
        layers.resize(L);
        for (size_t l = 0; l < L; ++l) {
            const std::string pre = "layers." + std::to_string(l) + ".";
            const size_t k = 1 + per * l;
            layers[l].norm1 = at(k + 0, pre + "norm1.weight");
            layers[l].lin[kDown] = at(k + 1, pre + (delta ? "ttt.key.weight" : "ttt.down.weight"));
            layers[l].lin[kUp] = at(k + 2, pre + "ttt.up.weight");
            layers[l].norm2 = at(k + 3, pre + "norm2.weight");
            layers[l].lin[kGate] = at(k + 4, pre + "mlp.gate_proj.weight");
            layers[l].lin[kMlpUp] = at(k + 5, pre + "mlp.up_proj.weight");
            layers[l].lin[kMlpDown] = at(k + 6, pre + "mlp.down_proj.weight");
            if (delta) {
                layers[l].lin[kValue] = at(k + 7, pre + "ttt.value.weight");
                layers[l].lin[kQuery] = at(k + 8, pre + "ttt.query.weight");
                layers[l].conv_k = at(k + 9, pre + "ttt.conv_k.weight");
                layers[l].conv_q = at(k + 10, pre + "ttt.conv_q.weight");
                layers[l].gate = at(k + 11, pre + "ttt.gate.weight");
                layers[l].gate_bias = at(k + 12, pre + "ttt.gate.bias");
            }
        }
        norm_f = at(1 + per * L, "norm_f.weight");
        lm_head = at(2 + per * L, "lm_head.weight");
    }
};

// Everything the backward needs, in one arena (pointer walk over a size table, as train_gpt2.c).
template <typename T>
struct Activations {
    ModelConfig config;
    size_t B = 0, Tn = 0, N = 0, D = 0, d = 0, I = 0, V = 0, L = 0, C = 0, nC = 0, H = 1, nlin = 5;
    bool delta = false;  // the delta kind's arrays exist (and the upstream kind's f, f̂, states are empty)
    bool quant = false;  // act_bits 8: the fake-quantised copies exist

    struct Layer {
        T* xn1;     // (N, D)  RMSNorm₁(x)
        T* xq1;     // (N, D)  fake-quantised xn1 (act_bits 8)
        T* rstd1;   // (N)
        T* f;       // (N, d)  down(xn1)
        T* fnorm;   // (N)     ‖f‖₂
        T* fhat;    // (N, d)  f / (‖f‖ + 1e-6)
        T* z;       // (N, d)  W_c f̂
        T* zq;      // (N, d)  fake-quantised z (act_bits 8)
        T* states;  // (B, nC, d, d) chunk-start TTT states
        T* h;       // (N, D)  x + up(z)
        T* xn2;     // (N, D)  RMSNorm₂(h)
        T* xq2;     // (N, D)  fake-quantised xn2 (act_bits 8)
        T* rstd2;   // (N)
        T* gate;    // (N, I)  W₁·xn2
        T* up;      // (N, I)  W₃·xn2
        T* act;     // (N, I)  silu(gate) ⊙ up
        T* actq;    // (N, I)  fake-quantised act (act_bits 8)
        T* we[kMaxLinears];  // effective weights W̃ (Q or s·Q), [out, in] of each BitLinear
        // Delta kind.
        T* kr;      // (N, d)  key(n₁), raw
        T* v;       // (N, d)  value(n₁)
        T* qr;      // (N, d)  query(n₁), raw
        T* gates;   // (N, 2H) G·n₁
        T* saved;   // ttt_delta_saved_size(N, d, H): what the recurrence keeps for its backward
        T* soul_start;  // (B, ttt_delta_soul_size) the carried souls the rows start from (Batch::souls_in)
    };
    std::vector<T*> x;         // L+1 × (N, D) residual stream: x[0] = embeddings, x[l+1] = output of layer l
    std::vector<Layer> layers;
    std::vector<double> scale; // (L·5) s of every BitLinear of this step
    T* xnf;                    // (N, D) RMSNorm_f(x[L])
    T* rstdf;                  // (N)
    T* logits;                 // (N, V) logits, overwritten by ∂L/∂logits in the backward
    std::vector<double> losses;  // (N)
    // Backward scratch.
    T* dx;     // (N, D) ∂L/∂ residual stream
    T* dtmp;   // (N, D)
    T* dbig1;  // (N, I)
    T* dbig2;  // (N, I)
    T* dsm1;   // (N, d)
    T* dsm2;   // (N, d)
    T* dwe;    // (max out·in) ∂L/∂W̃ of one BitLinear
    T* tttscr; // ttt_backward_scratch(B, T, d, C), or ttt_delta_train_scratch(B, d, H)
    T* ddv;    // (N, d)  delta kind: ∂v
    T* ddq;    // (N, d)  ∂q_r
    T* ddg;    // (N, 2H) ∂g
    T* soul_end;  // (B, ttt_delta_soul_size) one layer's souls after the batch, on their way to Batch::souls_out

    std::vector<T> arena;

    bool matches(const ModelConfig& c, size_t b, size_t t) const {
        return b == B && t == Tn && c.vocab_size == config.vocab_size && c.hidden_dim == config.hidden_dim &&
               c.num_layers == config.num_layers && c.intermediate_dim == config.intermediate_dim &&
               c.ttt_chunk == config.ttt_chunk && c.act_bits == config.act_bits && c.ttt_kind == config.ttt_kind &&
               c.ttt_heads == config.ttt_heads && c.ttt_dim() == config.ttt_dim();
    }

    void build(const ModelConfig& c, size_t b, size_t t) {
        config = c;
        B = b, Tn = t, N = b * t;
        D = size_t(c.hidden_dim), d = size_t(c.ttt_dim()), I = size_t(c.intermediate_dim), V = size_t(c.vocab_size);
        L = size_t(c.num_layers), C = size_t(c.ttt_chunk), nC = ttt_num_chunks(Tn, C);
        quant = c.act_bits == 8;
        delta = c.is_delta(), H = size_t(c.ttt_heads), nlin = linears_per_layer(c);
        x.assign(L + 1, nullptr);
        layers.assign(L, Layer{});
        scale.assign(L * nlin, 0.0);
        losses.assign(N, 0.0);

        std::vector<std::pair<T**, size_t>> plan;
        auto take = [&](T*& p, size_t n) { plan.emplace_back(&p, n); };
        const size_t qD = quant ? N * D : 0, qd = quant ? N * d : 0, qI = quant ? N * I : 0;
        const size_t up = delta ? 0 : 1, dl = delta ? 1 : 0;  // which kind's arrays exist
        for (size_t l = 0; l <= L; ++l) take(x[l], N * D);
        for (Layer& a : layers) {
            take(a.xn1, N * D), take(a.xq1, qD), take(a.rstd1, N);
            take(a.f, up * N * d), take(a.fnorm, up * N), take(a.fhat, up * N * d), take(a.z, N * d), take(a.zq, qd);
            take(a.states, up * B * nC * d * d);
            take(a.h, N * D), take(a.xn2, N * D), take(a.xq2, qD), take(a.rstd2, N);
            take(a.gate, N * I), take(a.up, N * I), take(a.act, N * I), take(a.actq, qI);
            take(a.we[kDown], d * D), take(a.we[kUp], D * d);
            take(a.we[kGate], I * D), take(a.we[kMlpUp], I * D), take(a.we[kMlpDown], D * I);
            take(a.we[kValue], dl * d * D), take(a.we[kQuery], dl * d * D);
            take(a.kr, dl * N * d), take(a.v, dl * N * d), take(a.qr, dl * N * d), take(a.gates, dl * N * 2 * H);
            take(a.saved, dl * ttt_delta_saved_size(N, d, H));
            take(a.soul_start, dl * B * ttt_delta_soul_size(d, H));
        }
        take(xnf, N * D), take(rstdf, N), take(logits, N * V);
        take(dx, N * D), take(dtmp, N * D), take(dbig1, N * I), take(dbig2, N * I), take(dsm1, N * d), take(dsm2, N * d);
        take(dwe, I * D);
        take(tttscr, delta ? ttt_delta_train_scratch(B, d, H) : ttt_backward_scratch(B, Tn, d, C));
        take(ddv, dl * N * d), take(ddq, dl * N * d), take(ddg, dl * N * 2 * H);
        take(soul_end, dl * B * ttt_delta_soul_size(d, H));
        size_t total = 0;
        for (auto& p : plan) total += (p.second + 15) / 16 * 16;  // 64-byte steps for float
        arena.assign(total, T(0));
        size_t off = 0;
        for (auto& p : plan) {
            *p.first = p.second ? arena.data() + off : nullptr;
            off += (p.second + 15) / 16 * 16;
        }
    }
};

void check_batch(const ModelConfig& c, const Batch& batch) {
    if (batch.B <= 0 || batch.T <= 0) fail_argument("training batch must have B > 0 and T > 0");
    if (!batch.inputs || !batch.targets) fail_argument("training batch has no inputs or targets");
    if ((batch.souls_in || batch.souls_out) && !c.is_delta())
        fail_argument("carried souls (stream training) need the delta TTT layer; upstream's layer trains from zero");
    if (batch.souls_in && batch.souls_out && batch.souls_in == batch.souls_out)
        fail_argument("training batch: souls_in and souls_out must be different buffers");
    const size_t N = size_t(batch.B) * size_t(batch.T);
    for (size_t n = 0; n < N; ++n)
        if (batch.inputs[n] < 0 || batch.inputs[n] >= c.vocab_size)
            fail_argument("training input token " + std::to_string(batch.inputs[n]) + " at position " +
                          std::to_string(n) + " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
}

// Runs the layer program (model/layer_program.h) with the training ops over the N = B·T rows of a batch, each
// intermediate in its own place in the arena, where the backward below reads it.
template <typename T>
class TrainLayerExec {
public:
    struct Rows {
        T* p = nullptr;
        size_t cols = 0;
    };
    using Input = Rows;

    TrainLayerExec(Activations<T>& A, size_t l, const T* P, const ParamIndex::Layer& p, const ModelConfig& c,
                   bool quant, const TttDeltaParams<T>& delta, const Batch& batch, ThreadPool* pool)
        : A_(A), a_(A.layers[l]), l_(l), P_(P), p_(p), c_(c), quant_(quant), delta_(delta), batch_(batch),
          pool_(pool) {}

    bool delta() const { return A_.delta; }

    Rows rmsnorm(const Rows& x, LayerNorm which, LayerSlot) {
        const bool first = which == LayerNorm::norm1;
        T* y = first ? a_.xn1 : a_.xn2;
        rmsnorm_forward(x.p, P_ + (first ? p_.norm1 : p_.norm2), A_.N, A_.D, c_.norm_eps, y, first ? a_.rstd1 : a_.rstd2,
                        pool_);
        return {y, A_.D};
    }
    Input bitlinear_input(const Rows& x, LayerSlot which) {
        if (!quant_) return x;
        T* y = which == LayerSlot::norm1_quantised ? a_.xq1
             : which == LayerSlot::ttt_out_quantised ? a_.zq
             : which == LayerSlot::norm2_quantised ? a_.xq2 : a_.actq;
        fake_quant_forward(x.p, A_.N, x.cols, y, pool_);
        return {y, x.cols};
    }
    Rows bitlinear(const Input& x, LayerLinear which, LayerSlot) {
        const size_t k = linear_index(which), out = linear_shape(k, A_.D, A_.d, A_.I).out;
        T* y = nullptr;
        switch (which) {
            case LayerLinear::ttt_down: y = a_.f; break;
            case LayerLinear::ttt_key: y = a_.kr; break;
            case LayerLinear::ttt_value: y = a_.v; break;
            case LayerLinear::ttt_query: y = a_.qr; break;
            case LayerLinear::ttt_up: y = a_.h; break;             // h = x + up(z) is formed in place (add)
            case LayerLinear::mlp_gate: y = a_.gate; break;
            case LayerLinear::mlp_up: y = a_.up; break;
            case LayerLinear::mlp_down: y = A_.x[l_ + 1]; break;   // x' = h + mlp, in place
        }
        matmul(false, true, A_.N, out, x.cols, x.p, a_.we[k], y, false, pool_);  // y = x·W̃ᵀ
        return {y, out};
    }
    Rows l2_normalize(const Rows& f, LayerSlot) {
        l2norm_forward(f.p, A_.N, A_.d, a_.fhat, a_.fnorm, pool_);
        return {a_.fhat, A_.d};
    }
    Rows ttt_chunked(const Rows& fhat, LayerSlot) {
        ttt_forward(fhat.p, A_.B, A_.Tn, A_.d, A_.C, c_.inner_lr, a_.z, a_.states, pool_);
        return {a_.z, A_.d};
    }
    Rows ttt_gate(const Rows& n, LayerSlot) {
        matmul(false, true, A_.N, 2 * A_.H, A_.D, n.p, P_ + p_.gate, a_.gates, false, pool_);  // g = G·n (float rows)
        return {a_.gates, 2 * A_.H};
    }
    // Rows start from the batch's carried souls (float, converted to T) or from zero souls; the souls after the
    // batch go back to the batch (stream training, Batch::souls_in/souls_out).
    Rows ttt_delta(const Rows& k, const Rows& v, const Rows& q, const Rows& g, LayerSlot) {
        const size_t n_souls = A_.B * ttt_delta_soul_size(A_.d, A_.H);
        if (batch_.souls_in) std::copy_n(batch_.souls_in + l_ * n_souls, n_souls, a_.soul_start);
        ttt_delta_forward(delta_, k.p, v.p, q.p, g.p, A_.B, A_.Tn, batch_.souls_in ? a_.soul_start : nullptr,
                          batch_.souls_out ? A_.soul_end : nullptr, a_.z,
                          ttt_delta_saved_at(a_.saved, A_.N, A_.d, A_.H), pool_);
        if (batch_.souls_out)
            std::transform(A_.soul_end, A_.soul_end + n_souls, batch_.souls_out + l_ * n_souls,
                           [](T x) { return static_cast<float>(x); });
        return {a_.z, A_.d};
    }
    Rows swiglu(const Rows& gate, const Rows& up, LayerSlot) {
        swiglu_forward(gate.p, up.p, A_.N * A_.I, a_.act, pool_);
        return {a_.act, A_.I};
    }
    Rows add(const Rows& a, const Rows& b, LayerSlot) {
        for (size_t i = 0; i < A_.N * a.cols; ++i) b.p[i] = a.p[i] + b.p[i];  // b is the branch output, in place
        return b;
    }

private:
    static size_t linear_index(LayerLinear which) {
        switch (which) {
            case LayerLinear::ttt_down: return kDown;
            case LayerLinear::ttt_key: return kKey;
            case LayerLinear::ttt_value: return kValue;
            case LayerLinear::ttt_query: return kQuery;
            case LayerLinear::ttt_up: return kUp;
            case LayerLinear::mlp_gate: return kGate;
            case LayerLinear::mlp_up: return kMlpUp;
            case LayerLinear::mlp_down: return kMlpDown;
        }
        return kDown;
    }

    Activations<T>& A_;
    typename Activations<T>::Layer& a_;
    size_t l_;
    const T* P_;
    const ParamIndex::Layer& p_;
    const ModelConfig& c_;
    bool quant_;
    TttDeltaParams<T> delta_;
    const Batch& batch_;
    ThreadPool* pool_;
};

template <typename T>
double forward_backward(const TrainParams& params, const T* P, const Batch& batch, T* G, ThreadPool& pool_ref,
                        Activations<T>& A, const ForwardOptions& opt) {
    const ModelConfig& c = params.config;
    ThreadPool* pool = &pool_ref;
    check_batch(c, batch);
    const ParamIndex ix(params);
    const size_t B = A.B, Tn = A.Tn, N = A.N, D = A.D, d = A.d, I = A.I, V = A.V, L = A.L, C = A.C;
    const size_t H = A.H, nlin = A.nlin;
    const bool scaled = c.bitlinear_scale;
    const bool relaxed = opt.relaxed;
    const bool quant = A.quant && !relaxed;
    const float eps = c.norm_eps, eta = c.inner_lr;
    if (relaxed && opt.frozen_scales.size() != L * nlin)
        fail_argument("relaxed mode needs one frozen scale per BitLinear (" + std::to_string(L * nlin) + ")");
    auto delta_params = [&](const ParamIndex::Layer& pl) {
        TttDeltaParams<T> dp;
        dp.d = d, dp.heads = H, dp.conv_k = P + pl.conv_k, dp.conv_q = P + pl.conv_q, dp.gate_bias = P + pl.gate_bias;
        dp.lr = static_cast<T>(eta);
        return dp;
    };

    // ---- effective weights of this step ------------------------------------------------------------------------
    for (size_t l = 0; l < L; ++l)
        for (size_t k = 0; k < nlin; ++k) {
            const T* w = P + ix.layers[l].lin[k];
            const LinearShape shape = linear_shape(k, D, d, I);
            const size_t n = shape.out * shape.in;
            const double s = relaxed ? opt.frozen_scales[l * nlin + k] : bitlinear_scale(w, n);
            A.scale[l * nlin + k] = s;
            T* we = A.layers[l].we[k];
            pool->parallel_for(n, [&](size_t b, size_t e) {
                bitlinear_effective_weight(w + b, e - b, s, scaled, relaxed, we + b);
            }, 65536);
        }

    // ---- forward: the layer program (model/layer_program.h), executed by the training ops --------------------------
    embedding_forward(batch.inputs, N, P + ix.embed, D, A.x[0]);
    for (size_t l = 0; l < L; ++l) {
        TrainLayerExec<T> ex(A, l, P, ix.layers[l], c, quant, delta_params(ix.layers[l]), batch, pool);
        bitllama_layer(ex, {A.x[l], D});
    }
    rmsnorm_forward(A.x[L], P + ix.norm_f, N, D, eps, A.xnf, A.rstdf, pool);
    matmul(false, true, N, V, D, A.xnf, P + ix.lm_head, A.logits, false, pool);  // logits (N, V)
    const double loss = cross_entropy_forward(A.logits, batch.targets, N, V, A.losses.data(), pool);
    if constexpr (std::is_same<T, float>::value)
        if (opt.logits_out) std::memcpy(opt.logits_out, A.logits, N * V * sizeof(float));
    if (!G) return loss;

    // ---- backward ------------------------------------------------------------------------------------------------
    cross_entropy_backward(A.logits, batch.targets, N, V, 1.0 / double(N), A.logits, pool);  // now ∂L/∂logits
    matmul(true, false, V, D, N, A.logits, A.xnf, G + ix.lm_head, true, pool);   // ∂head += dlogitsᵀ·xnf
    matmul(false, false, N, D, V, A.logits, P + ix.lm_head, A.dtmp, false, pool);  // ∂xnf = dlogits·head
    std::fill(A.dx, A.dx + N * D, T(0));
    rmsnorm_backward(A.dtmp, A.x[L], P + ix.norm_f, A.rstdf, N, D, A.dx, G + ix.norm_f, pool);

    // ∂W̃ = ∂Yᵀ·X into the scratch, then the STE into the latent gradient.
    auto weight_grad = [&](size_t l, size_t k, const T* dy, const T* xin) {
        const auto [out, in] = linear_shape(k, D, d, I);
        matmul(true, false, out, in, N, dy, xin, A.dwe, false, pool);
        bitlinear_weight_backward(A.dwe, out * in, A.scale[l * nlin + k], scaled, G + ix.layers[l].lin[k]);
    };

    for (size_t l = L; l-- > 0;) {
        auto& a = A.layers[l];
        const auto& p = ix.layers[l];
        const T* in1 = quant ? a.xq1 : a.xn1;
        const T* inz = quant ? a.zq : a.z;
        const T* in2 = quant ? a.xq2 : a.xn2;
        const T* ina = quant ? a.actq : a.act;
        // dx = ∂L/∂x[l+1]; the residual carries it to h unchanged.
        // x' = h + ina·W̃₂ᵀ
        matmul(false, false, N, I, D, A.dx, a.we[kMlpDown], A.dbig1, false, pool);  // ∂act (N, I) (STE for int8)
        weight_grad(l, kMlpDown, A.dx, ina);
        swiglu_backward(A.dbig1, a.gate, a.up, N * I, A.dbig1, A.dbig2, pool);      // ∂gate, ∂up
        weight_grad(l, kGate, A.dbig1, in2);
        weight_grad(l, kMlpUp, A.dbig2, in2);
        matmul(false, false, N, D, I, A.dbig1, a.we[kGate], A.dtmp, false, pool);   // ∂xn2 (N, D)
        matmul(false, false, N, D, I, A.dbig2, a.we[kMlpUp], A.dtmp, true, pool);
        rmsnorm_backward(A.dtmp, a.h, P + p.norm2, a.rstd2, N, D, A.dx, G + p.norm2, pool);  // dx = ∂L/∂h
        // h = x + inz·W̃_upᵀ
        matmul(false, false, N, d, D, A.dx, a.we[kUp], A.dsm1, false, pool);        // ∂z (N, d)
        weight_grad(l, kUp, A.dx, inz);
        if (A.delta) {
            const ParamIndex::Layer& pl = p;
            ttt_delta_backward(delta_params(pl), a.kr, a.v, a.qr, ttt_delta_saved_at(a.saved, N, d, H),
                               batch.souls_in ? a.soul_start : nullptr, A.dsm1, B, Tn,
                               A.dsm2, A.ddv, A.ddq, A.ddg, G + pl.conv_k, G + pl.conv_q, G + pl.gate_bias, A.tttscr,
                               pool);                                                // ∂k_r, ∂v, ∂q_r, ∂g
            weight_grad(l, kKey, A.dsm2, in1);
            weight_grad(l, kValue, A.ddv, in1);
            weight_grad(l, kQuery, A.ddq, in1);
            matmul(true, false, 2 * H, D, N, A.ddg, a.xn1, G + pl.gate, true, pool);  // ∂G += ∂gᵀ·n₁
            matmul(false, false, N, D, d, A.dsm2, a.we[kKey], A.dtmp, false, pool);   // ∂xn1 (N, D)
            matmul(false, false, N, D, d, A.ddv, a.we[kValue], A.dtmp, true, pool);
            matmul(false, false, N, D, d, A.ddq, a.we[kQuery], A.dtmp, true, pool);
            matmul(false, false, N, D, 2 * H, A.ddg, P + pl.gate, A.dtmp, true, pool);
        } else {
            ttt_backward(A.dsm1, a.fhat, a.z, a.states, B, Tn, d, C, eta, A.dsm2, A.tttscr, pool);  // ∂f̂
            l2norm_backward(A.dsm2, a.f, a.fnorm, N, d, A.dsm1, pool);               // ∂f
            weight_grad(l, kDown, A.dsm1, in1);
            matmul(false, false, N, D, d, A.dsm1, a.we[kDown], A.dtmp, false, pool); // ∂xn1 (N, D)
        }
        rmsnorm_backward(A.dtmp, A.x[l], P + p.norm1, a.rstd1, N, D, A.dx, G + p.norm1, pool);  // dx = ∂L/∂x[l]
    }
    embedding_backward(batch.inputs, N, A.dx, D, G + ix.embed);
    return loss;
}

}  // namespace

size_t train_soul_size(const ModelConfig& config) {
    return config.is_delta() ? ttt_delta_soul_size(size_t(config.ttt_dim()), size_t(config.ttt_heads)) : 0;
}

struct TrainWorkspace::Impl {
    Activations<float> acts;
};

TrainWorkspace::TrainWorkspace() : impl(std::make_unique<Impl>()) {}
TrainWorkspace::~TrainWorkspace() = default;

std::unique_ptr<TrainWorkspace> make_workspace(const ModelConfig& config, int32_t B, int32_t T) {
    if (B <= 0 || T <= 0) fail_argument("training workspace needs B > 0 and T > 0");
    auto ws = std::make_unique<TrainWorkspace>();
    ModelConfig c = config;
    if (c.intermediate_dim == 0) c.intermediate_dim = 4 * c.hidden_dim;
    ws->impl->acts.build(c, size_t(B), size_t(T));
    return ws;
}

double train_forward_backward(const TrainParams& params, const Batch& batch, float* grads, ThreadPool& pool,
                              TrainWorkspace& workspace, const ForwardOptions& options) {
    if (batch.B <= 0 || batch.T <= 0) fail_argument("training batch must have B > 0 and T > 0");
    Activations<float>& acts = workspace.impl->acts;
    if (!acts.matches(params.config, size_t(batch.B), size_t(batch.T)))
        acts.build(params.config, size_t(batch.B), size_t(batch.T));
    return forward_backward<float>(params, params.values.data(), batch, grads, pool, acts, options);
}

double train_forward_backward(const TrainParams& params, const Batch& batch, float* grads, ThreadPool& pool,
                              TrainWorkspace& workspace) {
    return train_forward_backward(params, batch, grads, pool, workspace, ForwardOptions{});
}

double train_forward_backward_f64(const TrainParams& params, const double* values, const Batch& batch,
                                  double* grads, ThreadPool& pool, const ForwardOptions& options) {
    if (batch.B <= 0 || batch.T <= 0) fail_argument("training batch must have B > 0 and T > 0");
    Activations<double> acts;
    acts.build(params.config, size_t(batch.B), size_t(batch.T));
    return forward_backward<double>(params, values, batch, grads, pool, acts, options);
}

}  // namespace ttt
