// bit-ttt convert of a Hugging Face directory to .bitt, streaming: one layer of the checkpoint in memory at a time
// (plus the embedding while it is hashed and written), so a model larger than memory converts. Two passes over the
// mapped checkpoint: the first computes the fingerprint the .bitt header records (in the fingerprint's order), the
// second writes the tensors in the file's layout order. POSIX only (the streamed writer), like save_model_bitt.
#include "load/hf_convert.h"

#include "common/error.h"
#include "io/bitt_file_writer.h"
#include "io/file.h"
#include "load/attention_tensors.h"
#include "load/config_json.h"
#include "load/hf_checkpoint.h"
#include "load/model_tensors.h"

namespace ttt {

namespace {

// "model.layers.12.mlp.up_proj.weight_ternary" → 12; -1 for tensors outside the layers.
int32_t layer_of(const std::string& name) {
    const std::string prefix = "model.layers.";
    if (name.compare(0, prefix.size(), prefix) != 0) return -1;
    return int32_t(std::stol(name.substr(prefix.size())));
}

}  // namespace

uint64_t convert_hf_to_bitt(const std::string& dir, const std::string& out_path, const Ternarise& ternarise,
                            FloatProjections floats) {
    const HfReader reader(dir, ternarise, floats);
    const ModelConfig& c = reader.config();

    // Pass 1: the fingerprint, one tensor (embedding, final norm, LM head) or layer at a time.
    uint64_t fingerprint = 0;
    {
        AttentionLayerWeights current;
        fingerprint = attention_fingerprint(
            c,
            [&](const FloatSink& sink) {
                for (auto make : {&HfReader::embed, &HfReader::norm_f, &HfReader::lm_head}) {
                    const std::vector<float> t = (reader.*make)();
                    sink(t.data(), t.size());
                }
            },
            [&](size_t l) -> const AttentionLayerWeights& {
                current = AttentionLayerWeights{};  // the previous layer goes before the next is made
                current = reader.layer(int32_t(l));
                return current;
            });
    }

    // Pass 2: the tensors in layout order; a layer is converted when its first tensor is due and dropped when
    // another layer's is.
    BittContents contents;
    contents.config_json = config_to_json(c);
    contents.weights_layout = kTernaryLayoutName;
    if (file_exists(dir + "/tokenizer.json")) {
        const std::vector<uint8_t> t = read_file(dir + "/tokenizer.json");
        contents.tokenizer_json.assign(t.begin(), t.end());
    }
    if (file_exists(dir + "/tokenizer_config.json")) {  // the chat template travels with the model
        const std::vector<uint8_t> t = read_file(dir + "/tokenizer_config.json");
        contents.tokenizer_config_json.assign(t.begin(), t.end());
    }
    const std::vector<TensorSpec> specs = attention_tensor_specs(c);
    BittFileWriter out(out_path, contents, specs, weights_metadata());
    ModelWeights w;  // holds at most one layer and the tensor being written
    w.config = c;
    auto layers = std::make_shared<AttentionWeights>();
    layers->layers.resize(size_t(c.num_layers));
    w.attention = layers;
    int32_t held = -1;
    for (size_t k; (k = out.next_index()) != BittFileWriter::kDone;) {
        const std::string& name = specs[k].name;
        const int32_t l = layer_of(name);
        if (l >= 0 && l != held) {
            if (held >= 0) layers->layers[size_t(held)] = AttentionLayerWeights{};
            layers->layers[size_t(l)] = reader.layer(l);
            held = l;
        } else if (name == "model.embed_tokens.weight") {
            w.embed = reader.embed();
        } else if (name == "model.norm.weight") {
            w.norm_f = reader.norm_f();
        } else if (name == "lm_head.weight") {
            w.lm_head = reader.lm_head();
        }
        const WeightTensor t = attention_weight_tensors(w)[k];
        if (t.spec.name != name) throw Error(TTT_ERR_PANIC, "converter: tensor order mismatch at '" + name + "'");
        out.write(t.data, t.spec.n_bytes);
        if (l < 0) {  // written: drop (each moved from an empty tensor: a copy-assignment would keep the capacity)
            w.embed = FloatTensor{};
            w.norm_f = FloatTensor{};
            w.lm_head = FloatTensor{};
        }
    }
    out.commit(fingerprint);
    return fingerprint;
}

}  // namespace ttt
