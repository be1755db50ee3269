#include "load/model_tensors.h"

#include <cmath>
#include <set>

#include "common/error.h"
#include "common/log.h"
#include "cpu/ternary_ref.h"

namespace ttt {

const char* const kTernaryLayoutName = "ternary-2bit-rowpadded-lsbfirst";

namespace {

struct Reader {
    const SafetensorsView& st;
    const std::string& what;
    std::set<std::string> used;
    bool in_place = false;  // packed matrices point into the file bytes instead of being copied

    const TensorView* find_first(std::initializer_list<std::string> names) {
        for (const std::string& n : names)
            if (const TensorView* t = st.find(n)) {
                used.insert(n);
                return t;
            }
        return nullptr;
    }

    // F32 tensors stored aligned are used where they lie (in place); others are converted (hosts are little-endian,
    // as the format).
    FloatTensor floats(std::initializer_list<std::string> names, std::vector<int64_t> shape) {
        const TensorView* t = find_first(names);
        if (!t) fail_format(what + ": missing tensor '" + *names.begin() + "'");
        if (t->shape != shape)
            fail_format(what + ": tensor '" + t->name + "' has shape " + shape_string(t->shape) + ", expected " +
                        shape_string(shape));
        const bool aligned = reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0;
        if (in_place && t->dtype == DType::F32 && aligned) {
            // Used in place, so not converted: the finiteness check of tensor_to_f32 is done here (a NaN would reach
            // the ternarizer's float-to-int conversion, undefined behaviour).
            const float* f = reinterpret_cast<const float*>(t->data);
            for (int64_t i = 0; i < t->n_elements; ++i)
                if (!std::isfinite(f[i]))
                    fail_format(what + ": tensor '" + t->name + "' holds NaN or Inf at element " + std::to_string(i));
            return FloatTensor::in_place(f, size_t(t->n_elements));
        }
        return tensor_to_f32(*t, what);
    }

    TernaryMatrix ternary(const std::string& base, int32_t rows, int32_t cols) {
        const std::string latent = base + ".weight", packed = base + ".weight_ternary", scale = base + ".weight_scale";
        if (const TensorView* p = find_first({packed})) {
            const size_t rb = ternary_row_bytes(size_t(cols));
            std::vector<int64_t> want{rows, int64_t(rb)};
            if (p->dtype != DType::U8) fail_format(what + ": tensor '" + packed + "' has dtype " + dtype_name(p->dtype) + ", expected U8");
            if (p->shape != want)
                fail_format(what + ": tensor '" + packed + "' has shape " + shape_string(p->shape) + ", expected " + shape_string(want));
            size_t bad_row = 0;
            if (!validate_packed_ternary(p->data, size_t(rows), size_t(cols), &bad_row))
                fail_format(what + ": tensor '" + packed + "' row " + std::to_string(bad_row) +
                            " holds an invalid ternary code (11) or non-zero padding bits");
            const TensorView* s = find_first({scale});
            if (!s) fail_format(what + ": missing tensor '" + scale + "' (the scale of '" + packed + "')");
            if (s->dtype != DType::F32 || s->n_elements != 1)
                fail_format(what + ": tensor '" + scale + "' must be one F32 value, found " + dtype_name(s->dtype) + " " + shape_string(s->shape));
            TernaryMatrix m;
            m.rows = rows;
            m.cols = cols;
            m.scale = tensor_to_f32(*s, what)[0];
            if (!(m.scale > 0.0f)) fail_format(what + ": tensor '" + scale + "' must be positive");
            if (in_place) m.view = p->data;
            else m.packed.assign(p->data, p->data + p->n_bytes);
            return m;
        }
        const FloatTensor w = floats({latent}, {rows, cols});
        return TernaryMatrix::from_latent(w.data(), rows, cols);
    }
};

}  // namespace

ModelWeights weights_from_safetensors(const ModelConfig& c, const SafetensorsView& st, const std::string& what,
                                      const std::function<bool(float)>& progress, std::shared_ptr<const void> storage) {
    auto report = [&](float f) {
        if (progress && !progress(f)) throw Error(TTT_ERR_ABORTED, "loading " + what + " was cancelled by the progress callback");
    };
    Reader r{st, what, {}, storage != nullptr};
    const int64_t V = c.vocab_size, D = c.hidden_dim, I = c.intermediate_dim, d = c.ttt_dim();
    ModelWeights w;
    w.config = c;
    w.storage = std::move(storage);
    report(0.0f);
    w.embed = r.floats({"embed.weight", "model.embed_tokens.weight"}, {V, D});
    for (int32_t i = 0; i < c.num_layers; ++i) {
        // HEAD checkpoints may use the Llama-style prefix; prefer it when any tensor lives under it.
        std::string p = "layers." + std::to_string(i);
        const std::string hf = "model.layers." + std::to_string(i);
        for (const auto& t : st.tensors)
            if (t.name.compare(0, hf.size() + 1, hf + ".") == 0) {
                p = hf;
                break;
            }
        LayerWeights L;
        L.norm1 = r.floats({p + ".norm1.weight", p + ".norm1.model.norm.weight", p + ".input_layernorm.weight"}, {D});
        L.ttt_down = r.ternary(p + ".ttt.down", int32_t(d), int32_t(D));
        L.ttt_up = r.ternary(p + ".ttt.up", int32_t(D), int32_t(d));
        L.norm2 = r.floats({p + ".norm2.weight", p + ".norm2.model.norm.weight", p + ".post_attention_layernorm.weight"}, {D});
        L.mlp_gate = r.ternary(p + ".mlp.gate_proj", int32_t(I), int32_t(D));
        L.mlp_up = r.ternary(p + ".mlp.up_proj", int32_t(I), int32_t(D));
        L.mlp_down = r.ternary(p + ".mlp.down_proj", int32_t(D), int32_t(I));
        w.layers.push_back(std::move(L));
        report(0.1f + 0.8f * float(i + 1) / float(c.num_layers));
    }
    w.norm_f = r.floats({"norm_f.weight", "model.norm.weight"}, {D});
    w.lm_head = r.floats({"lm_head.weight"}, {V, D});
    for (const auto& t : st.tensors)
        if (!r.used.count(t.name)) log_warn(what + ": ignoring unused tensor '" + t.name + "'");
    report(1.0f);
    return w;
}

std::vector<WeightTensor> weight_tensors(const ModelWeights& w) {
    const int64_t V = w.config.vocab_size, D = w.config.hidden_dim;
    std::vector<WeightTensor> out;
    auto floats = [&](const std::string& name, std::vector<int64_t> shape, const FloatTensor& t) {
        out.push_back({TensorSpec{name, DType::F32, std::move(shape), t.size() * sizeof(float)}, t.data()});
    };
    auto ternary = [&](const std::string& base, const TernaryMatrix& m) {
        out.push_back({TensorSpec{base + ".weight_ternary", DType::U8,
                                  {m.rows, int64_t(ternary_row_bytes(size_t(m.cols)))}, m.bytes()},
                       m.data()});
        out.push_back({TensorSpec{base + ".weight_scale", DType::F32, {1}, sizeof m.scale}, &m.scale});
    };
    floats("embed.weight", {V, D}, w.embed);
    for (size_t i = 0; i < w.layers.size(); ++i) {
        const LayerWeights& L = w.layers[i];
        const std::string p = "layers." + std::to_string(i);
        floats(p + ".norm1.weight", {D}, L.norm1);
        ternary(p + ".ttt.down", L.ttt_down);
        ternary(p + ".ttt.up", L.ttt_up);
        floats(p + ".norm2.weight", {D}, L.norm2);
        ternary(p + ".mlp.gate_proj", L.mlp_gate);
        ternary(p + ".mlp.up_proj", L.mlp_up);
        ternary(p + ".mlp.down_proj", L.mlp_down);
    }
    floats("norm_f.weight", {D}, w.norm_f);
    floats("lm_head.weight", {V, D}, w.lm_head);
    return out;
}

std::map<std::string, std::string> weights_metadata() {
    return {{"format", "bit_ttt.weights"}, {"ternary_layout", kTernaryLayoutName}};
}

std::vector<uint8_t> weights_to_safetensors(const ModelWeights& w, size_t file_offset) {
    SafetensorsWriter out;
    for (const WeightTensor& t : weight_tensors(w)) out.add(t.spec.name, t.spec.dtype, t.spec.shape, t.data, t.spec.n_bytes);
    for (const auto& [k, v] : weights_metadata()) out.set_metadata(k, v);
    return out.finish(file_offset);
}

}  // namespace ttt
