// The BitLlama TTT layer (DESIGN §2; the delta kind: docs/memory.md), written once. Inference and training run this
// one composition through an executor that supplies the operations and decides where each intermediate lives:
//   - model/forward.cpp runs backend ops on the rows of a pass (prefill, decode, many contexts, learn, sleep),
//     reusing a few workspace matrices across layers and souls as the fast-weight state;
//   - train/forward_backward.cpp runs the training ops in float (training) or double (gradient checks) over a batch
//     of whole sequences and keeps, in its arena, every intermediate its backward reads.
// What the program fixes is the math and the order of the ops: the same rows are normalised, quantised once for
// the BitLinears that read them, multiplied, mixed by the recurrence and added back, whoever executes it.
//
// An executor Ex provides (Rows: an activation matrix of the batch's rows; Input: rows as a BitLinear reads them):
//   Rows  rmsnorm(const Rows& x, LayerNorm gain, LayerSlot out)
//   Input bitlinear_input(const Rows& x, LayerSlot quantised)        the rows, int8-quantised where act_bits is 8
//   Rows  bitlinear(const Input& x, LayerLinear weight, LayerSlot out)
//   Rows  l2_normalize(const Rows& f, LayerSlot out)                   upstream kind
//   Rows  ttt_chunked(const Rows& fhat, LayerSlot out)                 upstream kind: the recurrence, per sequence
//   Rows  ttt_gate(const Rows& n, LayerSlot out)                       delta kind: gate logits, dense, float rows
//   Rows  ttt_delta(const Rows& k, const Rows& v, const Rows& q, const Rows& g, LayerSlot out)
//   Rows  swiglu(const Rows& gate, const Rows& up, LayerSlot out)
//   Rows  add(const Rows& a, const Rows& b, LayerSlot out)             out may be where b is (in place: training
//                                                                      writes each branch output where its sum goes)
//   bool  delta() const
#pragma once

namespace ttt {

enum class LayerNorm { norm1, norm2 };

// The layer's BitLinears by role. The delta kind's key takes the place of upstream's down projection.
enum class LayerLinear { ttt_down, ttt_key, ttt_value, ttt_query, ttt_up, mlp_gate, mlp_up, mlp_down };

// Every intermediate the layer produces. An executor may give several the same memory (inference does) as long as
// each is written only after its last reader in the order below.
enum class LayerSlot {
    norm1_out, norm1_quantised,
    key, value, query, gates,        // delta kind
    features, features_normalised,   // upstream kind
    ttt_out, ttt_out_quantised, ttt_branch, h,
    norm2_out, norm2_quantised, mlp_gate, mlp_up, mlp_act, mlp_act_quantised, mlp_branch,
    out,
};

// x_out = x + MLP(h),  h = x + up(TTT(x)): one layer over the executor's rows; the result goes to LayerSlot::out.
template <class Ex>
typename Ex::Rows bitllama_layer(Ex& ex, const typename Ex::Rows& x) {
    using Rows = typename Ex::Rows;
    // TTT core: features of the normalised rows, the fast-weight recurrence per sequence, back to the stream.
    const Rows n1 = ex.rmsnorm(x, LayerNorm::norm1, LayerSlot::norm1_out);
    const auto in1 = ex.bitlinear_input(n1, LayerSlot::norm1_quantised);  // quantised once for every reader
    Rows z;
    if (ex.delta()) {
        const Rows k = ex.bitlinear(in1, LayerLinear::ttt_key, LayerSlot::key);
        const Rows v = ex.bitlinear(in1, LayerLinear::ttt_value, LayerSlot::value);
        const Rows q = ex.bitlinear(in1, LayerLinear::ttt_query, LayerSlot::query);
        const Rows g = ex.ttt_gate(n1, LayerSlot::gates);
        z = ex.ttt_delta(k, v, q, g, LayerSlot::ttt_out);
    } else {
        const Rows f = ex.bitlinear(in1, LayerLinear::ttt_down, LayerSlot::features);
        const Rows fhat = ex.l2_normalize(f, LayerSlot::features_normalised);
        z = ex.ttt_chunked(fhat, LayerSlot::ttt_out);
    }
    const Rows up = ex.bitlinear(ex.bitlinear_input(z, LayerSlot::ttt_out_quantised), LayerLinear::ttt_up,
                                 LayerSlot::ttt_branch);
    const Rows h = ex.add(x, up, LayerSlot::h);

    // SwiGLU MLP (gate and up read the same normalised rows: quantised once).
    const Rows n2 = ex.rmsnorm(h, LayerNorm::norm2, LayerSlot::norm2_out);
    const auto in2 = ex.bitlinear_input(n2, LayerSlot::norm2_quantised);
    const Rows gate = ex.bitlinear(in2, LayerLinear::mlp_gate, LayerSlot::mlp_gate);
    const Rows mlp_up = ex.bitlinear(in2, LayerLinear::mlp_up, LayerSlot::mlp_up);
    const Rows act = ex.swiglu(gate, mlp_up, LayerSlot::mlp_act);
    const Rows down = ex.bitlinear(ex.bitlinear_input(act, LayerSlot::mlp_act_quantised), LayerLinear::mlp_down,
                                   LayerSlot::mlp_branch);
    return ex.add(h, down, LayerSlot::out);
}

}  // namespace ttt
