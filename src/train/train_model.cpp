// TrainParams: the layout of the latent float parameters in one arena, and their deterministic initialisation.
//
// Layout (the upstream tensor table, DESIGN §2 / upstream-spec §1.5), tensors back to back with no padding:
//
//   embed.weight                      (V, D)
//   for i in 0 .. L−1:
//     layers.i.norm1.weight           (D)
//     layers.i.ttt.down.weight        (d, D)    ternary
//     layers.i.ttt.up.weight          (D, d)    ternary
//     layers.i.norm2.weight           (D)
//     layers.i.mlp.gate_proj.weight   (I, D)    ternary  (w1)
//     layers.i.mlp.up_proj.weight     (I, D)    ternary  (w3)
//     layers.i.mlp.down_proj.weight   (D, I)    ternary  (w2)
//   norm_f.weight                     (D)
//   lm_head.weight                    (V, D)
//
// With "ttt_kind": "delta" (docs/memory.md) each layer is instead, in this order (the BitLinears first in the
// upstream slots, ttt.key where ttt.down was, so the training core indexes them alike):
//     norm1, ttt.key (d, D) ternary, ttt.up, norm2, mlp.gate_proj, mlp.up_proj, mlp.down_proj,
//     ttt.value (d, D) ternary, ttt.query (d, D) ternary, ttt.conv_k (d, 4), ttt.conv_q (d, 4),
//     ttt.gate.weight (2H, D), ttt.gate.bias (2H)
//
// Initialisation (init_random), chosen for straight-through training of ternary weights:
//   BitLinear latents  N(0, 1/fan_in). With bitlinear_scale the layer multiplies by s·Q ≈ W, so this is the
//                      variance-preserving (LeCun) init of the effective weight. Without it the forward does not
//                      depend on the latent scale at all (Q is scale-invariant), and what the scale sets is how far
//                      an optimiser step moves a weight relative to its quantisation step s ≈ 0.8/√fan_in: with
//                      AdamW steps of ~lr, lr = 1e-3 flips a weight near a threshold in a few steps and a typical
//                      one in tens, which keeps the ternary pattern learning without thrashing. About 69 % of the
//                      weights start non-zero (|W| > s/2 for a Gaussian).
//   RMSNorm gains      1 (not upstream's N(0, 2) from candle's default initialiser, upstream-spec §2.2: a random
//                      gain flips the sign of random channels and scales others by ~0).
//   embedding          N(0, 1), as upstream (candle's Embedding default). The first RMSNorm removes its scale from
//                      layer 0's input; on the residual stream unit-RMS token vectors sit at the same scale as
//                      RMSNorm outputs and as the residual branches of a scaled model, so token identity is neither
//                      drowned nor dominant at the start.
//   delta layer        token mixing N(0, 0.5²) per tap; gate weight N(0, (0.1/√D)²); gate bias 0 for the inner
//                      learning rate (η = inner_lr/2) and 4 for the decay (α ≈ 0.98: a memory of ~50 tokens that
//                      training may lengthen; the option ttt_decay_bias sets another start, e.g. 7: α ≈ 0.999);
//                      the option ttt_recall_init starts it as a previous-token lookup instead (init_recall)
//   LM head            N(0, (0.1/√D)²): the final RMSNorm gives unit-RMS inputs, so the initial logits have a
//                      standard deviation of ~0.1 and the first loss is within ~0.01 of ln V, while the head's
//                      rows are still distinct (a zero head would give the body no gradient on the first step).
// Random numbers: xoshiro256** seeded through splitmix64 (src/common/rng.h, integer arithmetic only), turned into
// normals by Box–Muller (both outputs of each pair used), drawn tensor by tensor in layout order. The uniforms are
// identical on every platform; the normals use std::log/sqrt/cos/sin, which may differ in the last bit between C
// libraries (glibc, MSVC), so a seed gives the same initial model everywhere up to float rounding.
#include "train/train_model.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/rng.h"
#include "train/train_ops.h"

namespace ttt {

namespace {

// Box–Muller normals from the portable generator.
class NormalSource {
public:
    explicit NormalSource(uint64_t seed) : rng_(seed) {}
    double next() {
        if (have_spare_) {
            have_spare_ = false;
            return spare_;
        }
        const double u1 = 1.0 - rng_.next_double();  // (0, 1]: log is finite
        const double u2 = rng_.next_double();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double a = 6.283185307179586476925 * u2;
        spare_ = r * std::sin(a);
        have_spare_ = true;
        return r * std::cos(a);
    }

private:
    Rng rng_;
    double spare_ = 0.0;
    bool have_spare_ = false;
};

}  // namespace

TrainParams TrainParams::create(const ModelConfig& config_in) {
    ModelConfig c = config_in;
    if (c.intermediate_dim == 0) c.intermediate_dim = 4 * c.hidden_dim;  // as config.json: 0 = 4·D
    validate_config(c, "training config");
    TrainParams p;
    p.config = c;
    const int64_t V = c.vocab_size, D = c.hidden_dim, d = c.ttt_dim(), I = c.intermediate_dim;
    size_t offset = 0;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, bool ternary, bool decay) {
        ParamTensor t;
        t.name = name;
        t.shape = std::move(shape);
        t.size = 1;
        for (int64_t s : t.shape) t.size *= size_t(s);
        t.offset = offset;
        t.ternary = ternary;
        t.weight_decay = decay;
        offset += t.size;
        p.tensors.push_back(std::move(t));
    };
    add("embed.weight", {V, D}, false, false);
    for (int32_t i = 0; i < c.num_layers; ++i) {
        const std::string pre = "layers." + std::to_string(i) + ".";
        add(pre + "norm1.weight", {D}, false, false);
        add(pre + (c.is_delta() ? "ttt.key.weight" : "ttt.down.weight"), {d, D}, true, true);
        add(pre + "ttt.up.weight", {D, d}, true, true);
        add(pre + "norm2.weight", {D}, false, false);
        add(pre + "mlp.gate_proj.weight", {I, D}, true, true);
        add(pre + "mlp.up_proj.weight", {I, D}, true, true);
        add(pre + "mlp.down_proj.weight", {D, I}, true, true);
        if (c.is_delta()) {
            const int64_t H2 = 2 * int64_t(c.ttt_heads);
            add(pre + "ttt.value.weight", {d, D}, true, true);
            add(pre + "ttt.query.weight", {d, D}, true, true);
            add(pre + "ttt.conv_k.weight", {d, 4}, false, false);
            add(pre + "ttt.conv_q.weight", {d, 4}, false, false);
            add(pre + "ttt.gate.weight", {H2, D}, false, false);
            add(pre + "ttt.gate.bias", {H2}, false, false);
        }
    }
    add("norm_f.weight", {D}, false, false);
    add("lm_head.weight", {V, D}, false, true);
    p.values.assign(offset, 0.0f);
    return p;
}

// The delta layer starts as the lookup that copying needs (an "induction" read in one layer): the key of token t
// is the previous token's (conv_k = tap 1), the query is the current token's (conv_q = tap 0), and the query
// projection starts equal to the key projection, so a token's query matches the key written one step after the
// same token was last seen and reads back the value of the token that followed it. Drawn from the same random
// numbers as the default initialisation (the draws are overwritten afterwards), so everything else is unchanged.
static void init_recall(TrainParams& p) {
    const size_t K = 4;
    for (int32_t i = 0; i < p.config.num_layers; ++i) {
        const std::string pre = "layers." + std::to_string(i) + ".ttt.";
        const ParamTensor* key = p.find(pre + "key.weight");
        std::copy_n(p.data(pre + "key.weight"), key->size, p.data(pre + "query.weight"));
        float* ck = p.data(pre + "conv_k.weight");
        float* cq = p.data(pre + "conv_q.weight");
        const size_t d = size_t(p.config.ttt_dim());
        for (size_t c = 0; c < d; ++c)
            for (size_t s = 0; s < K; ++s) ck[c * K + s] = s == 1 ? 1.0f : 0.0f, cq[c * K + s] = s == 0 ? 1.0f : 0.0f;
    }
}

void TrainParams::init_random(uint64_t seed, float decay_bias, bool recall_init) {
    NormalSource normal(seed);
    const double D = double(config.hidden_dim);
    for (const ParamTensor& t : tensors) {
        float* v = values.data() + t.offset;
        const bool ends_with_bias = t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0;
        if (ends_with_bias) {  // the delta layer's gate bias: η half open, α = σ(decay_bias) (4: α ≈ 0.98)
            const size_t H = t.size / 2;
            for (size_t i = 0; i < t.size; ++i) v[i] = i < H ? 0.0f : decay_bias;
            continue;
        }
        const bool is_norm = t.shape.size() == 1;
        if (is_norm) {
            std::fill(v, v + t.size, 1.0f);
            continue;
        }
        double stddev;
        if (t.ternary) stddev = 1.0 / std::sqrt(double(t.shape[1]));  // 1/√fan_in
        else if (t.name == "embed.weight") stddev = 1.0;
        else if (t.name.find(".ttt.conv_") != std::string::npos) stddev = 0.5;
        else stddev = 0.1 / std::sqrt(D);                             // lm_head
        for (size_t i = 0; i < t.size; ++i) v[i] = static_cast<float>(normal.next() * stddev);
    }
    if (recall_init && config.is_delta()) init_recall(*this);
}


const ParamTensor* TrainParams::find(const std::string& name) const {
    for (const ParamTensor& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

float* TrainParams::data(const std::string& name) {
    const ParamTensor* t = find(name);
    if (!t) fail_argument("no training parameter named '" + name + "'");
    return values.data() + t->offset;
}

const float* TrainParams::data(const std::string& name) const {
    const ParamTensor* t = find(name);
    if (!t) fail_argument("no training parameter named '" + name + "'");
    return values.data() + t->offset;
}

std::vector<double> bitlinear_scales(const TrainParams& params) {
    std::vector<double> s;
    for (const ParamTensor& t : params.tensors)
        if (t.ternary) s.push_back(bitlinear_scale(params.values.data() + t.offset, t.size));
    return s;
}

}  // namespace ttt
