#include "cmd_model.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bit_ttt.h"
#include "common/error.h"
#include "load/bitt_model.h"
#include "io/checksum.h"
#include "load/config_json.h"
#include "load/hf_checkpoint.h"
#include "load/hf_convert.h"
#include "io/file.h"
#include "load/model_files.h"
#include "io/safetensors.h"

namespace {

void print_config(const ttt::ModelConfig& c) {
    if (c.is_attention()) {
        const ttt::AttentionConfig& a = c.attn;
        std::printf("config:\n  arch %s\n  vocab_size %d\n  hidden_dim %d\n  num_layers %d\n  intermediate_dim %d\n"
                    "  heads %d (key/value %d, width %d)\n  rope_theta %g%s\n  max_position %d\n  tied embeddings %s\n"
                    "  norm_eps %g\n  bos_id %d\n  eos_id %d\n",
                    ttt::architecture_name(c.arch), c.vocab_size, c.hidden_dim, c.num_layers, c.intermediate_dim,
                    a.num_heads, a.num_kv_heads, a.head_dim, double(a.rope_theta), a.rope_llama3 ? " (llama3 scaling)" : "",
                    a.max_position, a.tie_embeddings ? "yes" : "no", double(c.norm_eps), c.bos_id, c.eos_id);
        if (c.arch == ttt::Architecture::llama) {
            if (a.ternary_bases > 0) std::printf("  projections ternary, %d base%s (y = sum s_k Q_k x)\n", a.ternary_bases, a.ternary_bases > 1 ? "s" : "");
            else std::printf("  projections float, %s\n", a.bf16_projections ? "bf16" : "f32");
        }
        std::printf("  embedding %s, LM head %s\n", a.bf16_embedding ? "bf16" : "f32",
                    a.tie_embeddings ? "tied" : a.bf16_lm_head ? "bf16" : "f32");
        for (int32_t id : c.end_ids) std::printf("  end token %d\n", id);
        return;
    }
    std::printf("config:\n  vocab_size %d\n  hidden_dim %d\n  num_layers %d\n  intermediate_dim %d\n  ttt_dim %d\n"
                "  inner_lr %g\n  ttt_chunk %d\n  bitlinear_scale %s\n  act_bits %d\n  norm_eps %g\n  bos_id %d\n  eos_id %d\n",
                c.vocab_size, c.hidden_dim, c.num_layers, c.intermediate_dim, c.ttt_dim(), double(c.inner_lr), c.ttt_chunk,
                c.bitlinear_scale ? "true" : "false", c.act_bits, double(c.norm_eps), c.bos_id, c.eos_id);
    // Only for the delta layer, so the report of every upstream-form model reads as before.
    if (c.is_delta()) std::printf("  ttt_kind delta\n  ttt_heads %d\n", c.ttt_heads);
}

void print_tensors(const ttt::SafetensorsView& st) {
    std::printf("tensors (%zu):\n", st.tensors.size());
    size_t total = 0;
    for (const auto& t : st.tensors) {
        std::printf("  %-40s %-5s %-16s %10zu bytes\n", t.name.c_str(), ttt::dtype_name(t.dtype),
                    ttt::shape_string(t.shape).c_str(), t.n_bytes);
        total += t.n_bytes;
    }
    std::printf("tensor data: %zu bytes\n", total);
}

std::string join(const std::string& dir, const char* name) { return dir + (dir.empty() || dir.back() == '/' ? "" : "/") + name; }

int usage_error(const char* msg) {
    std::fprintf(stderr, "bit-ttt: %s\n", msg);
    return 2;
}

}  // namespace

namespace {

// `--help` or `-h` anywhere: the usage on stdout, exit 0.
bool print_help(int argc, char** argv, const char* usage) {
    for (int i = 1; i < argc; ++i)
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf("%s\n", usage);
            return true;
        }
    return false;
}

const char* const kInfoUsage = "usage: bit-ttt info FILE|DIR   (config, tensor table, sizes, checksum state)";
const char* const kConvertUsage =
    "usage: bit-ttt convert [--ternary absmean|multibase[:K] | --bf16] INPUT OUTPUT\n"
    "  INPUT: a model directory, a Hugging Face Llama/BitNet directory or .bitt; OUTPUT ending in .bitt writes .bitt,\n"
    "  streamed tensor by tensor from a Hugging Face directory; otherwise a model directory.\n"
    "  --ternary (a Hugging Face LlamaForCausalLM to .bitt): the projections become ternary; absmean: BitNet b1.58's\n"
    "  rule, one base (2 bits per weight); multibase:K: K least-squares bases fitted on the residual, W ~ sum s_k Q_k\n"
    "  (K 1..8, default 3; 2K bits per weight). docs/models.md has their quality cost.\n"
    "  --bf16 (a Hugging Face LlamaForCausalLM to .bitt): f32 / f16 projections stored as bf16 (rounded; half the\n"
    "  memory). A bf16 checkpoint's projections stay bf16 without it.";

// "absmean", "multibase", "multibase:K" → the converter's option; false if malformed.
bool parse_ternarise(const std::string& text, ttt::Ternarise* t) {
    if (text == "absmean") {
        t->method = ttt::Ternarise::Method::absmean;
        return true;
    }
    const std::string mb = "multibase";
    if (text.compare(0, mb.size(), mb) != 0) return false;
    t->method = ttt::Ternarise::Method::multibase;
    t->bases = 3;
    if (text.size() == mb.size()) return true;
    if (text[mb.size()] != ':' || text.size() != mb.size() + 2) return false;
    const char k = text.back();
    if (k < '1' || k > '0' + ttt::kMaxTernaryBases) return false;
    t->bases = k - '0';
    return true;
}
const char* const kForwardUsage = "usage: bit-ttt forward -m MODEL --tokens 1,2,3   (prints the top next-token logits)";

}  // namespace

int cmd_info(int argc, char** argv) {
    if (print_help(argc, argv, kInfoUsage)) return 0;
    if (argc != 2) return usage_error(kInfoUsage);
    const std::string path = argv[1];
    try {
        if (ttt::is_hf_checkpoint_dir(path)) {
            std::string arch;
            ttt::BitNetWeights form = ttt::BitNetWeights::master;
            std::vector<uint8_t> cfg = ttt::read_file(join(path, "config.json"));
            ttt::parse_hf_config(std::string(cfg.begin(), cfg.end()), "config.json", &arch, &form);
            std::printf("format: Hugging Face checkpoint directory %s (%s, %s, %s)\n", path.c_str(), arch.c_str(),
                        ttt::file_exists(join(path, "model.safetensors.index.json")) ? "sharded" : "one file",
                        form == ttt::BitNetWeights::master ? "float weights"
                        : form == ttt::BitNetWeights::bitlinear ? "packed ternary weights, BitLinear"
                                                                : "ternary weights, offline AutoBitLinear");
        } else if (ttt::is_directory(path)) {
            std::printf("format: model directory %s\n", path.c_str());
            std::vector<uint8_t> cfg = ttt::read_file(join(path, "config.json"));
            print_config(ttt::parse_config_json(std::string_view(reinterpret_cast<const char*>(cfg.data()), cfg.size()), "config.json"));
            std::vector<uint8_t> w = ttt::read_file(join(path, "model.safetensors"));
            std::printf("model.safetensors: %zu bytes\n", w.size());
            print_tensors(ttt::parse_safetensors(w.data(), w.size(), "model.safetensors"));
            std::printf("tokenizer.json: %s\n", ttt::file_exists(join(path, "tokenizer.json")) ? "present" : "absent");
            std::printf("checksum: none (model directories carry no checksum)\n");
        } else {
            std::vector<uint8_t> bytes = ttt::read_file(path);
            const size_t file_size = bytes.size();
            ttt::BittFile f = ttt::parse_bitt(ttt::own_bytes(std::move(bytes)), path, /*verify_checksum=*/true);
            std::printf("format: .bitt v%d, %zu bytes\n", f.format_version, file_size);
            print_config(ttt::bitt_model_config(f, path));
            print_tensors(f.body);
            std::printf("tokenizer: %s\n", f.tokenizer_json.empty() ? "absent" : ("embedded, " + std::to_string(f.tokenizer_json.size()) + " bytes of JSON").c_str());
            if (f.format_version >= 2)
                std::printf("checksum: CRC-32C %08x verified\nfingerprint (stored): %s\n", f.body_crc32c,
                            ttt::hex64(f.stored_fingerprint).c_str());
            else
                std::printf("checksum: none (.bitt v1 has no checksum)\n");
        }
    } catch (const ttt::Error& e) {
        std::fprintf(stderr, "bit-ttt info: %s\n", e.what());
        return 1;
    }
    ttt_model* model = nullptr;
    if (ttt_load_model(path.c_str(), nullptr, &model) != TTT_OK) {
        std::fprintf(stderr, "bit-ttt info: the model does not load: %s\n", ttt_last_error());
        return 1;
    }
    ttt_model_info info;
    info.struct_size = sizeof info;
    ttt_model_get_info(model, &info);
    static const char* const kArchNames[] = {"ttt (BitLlama: TTT layers + SwiGLU MLP)",
                                             "llama (attention with RoPE, KV cache; float or ternary projections)",
                                             "bitnet (BitNet b1.58: attention, ternary weights, int8 activations)"};
    const bool known_arch = info.architecture >= 0 && info.architecture <= 2;
    std::printf("architecture: %s\n", known_arch ? kArchNames[info.architecture] : "?");
    if (info.architecture == TTT_ARCH_TTT && info.ttt_kind == TTT_KIND_DELTA) {
        const int heads = info.ttt_heads > 0 ? info.ttt_heads : 1, dh = info.ttt_dim / heads;
        std::printf("ttt layer: delta (key/value/query, token mixing, learned inner lr and decay), %d heads\n"
                    "parameters: %" PRIu64 "\nfingerprint (weights): %016" PRIx64 "\n"
                    "soul size: %d layers x %d heads x %d x %d floats (+ the token-mixing tail)\n",
                    heads, info.n_params, info.fingerprint, info.num_layers, heads, dh, dh);
    } else if (info.architecture == TTT_ARCH_TTT)
        std::printf("ttt layer: upstream\nparameters: %" PRIu64 "\nfingerprint (weights): %016" PRIx64 "\n"
                    "soul size: %d layers x %d x %d floats\n",
                    info.n_params, info.fingerprint, info.num_layers, info.ttt_dim, info.ttt_dim);
    else
        std::printf("attention: %d query heads, %d key/value heads, head width %d, context %d tokens by default\n"
                    "parameters: %" PRIu64 "\nfingerprint (weights): %016" PRIx64 "\n",
                    info.n_heads, info.n_kv_heads, info.head_dim, info.max_position, info.n_params, info.fingerprint);
    size_t template_len = 0;  // the chat template from tokenizer_config.json (used by `bit-ttt chat`)
    ttt_model_chat_template(model, nullptr, 0, &template_len);
    if (template_len) std::printf("chat template: %zu bytes (tokenizer_config.json)\n", template_len);
    else std::printf("chat template: none\n");
    ttt_model_free(model);
    return 0;
}

int cmd_convert(int argc, char** argv) {
    if (print_help(argc, argv, kConvertUsage)) return 0;
    ttt::Ternarise ternarise;
    ttt::FloatProjections floats = ttt::FloatProjections::as_stored;
    std::vector<std::string> paths;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--bf16")) {
            floats = ttt::FloatProjections::bf16;
        } else if (!std::strcmp(argv[i], "--ternary") && i + 1 < argc) {
            if (!parse_ternarise(argv[++i], &ternarise))
                return usage_error("--ternary takes absmean, multibase or multibase:K with K in 1..8");
        } else {
            paths.push_back(argv[i]);
        }
    }
    if (paths.size() != 2) return usage_error(kConvertUsage);
    const std::string in = paths[0], out = paths[1];
    try {
        const bool to_bitt = out.size() >= 5 && out.compare(out.size() - 5, 5, ".bitt") == 0;
        const bool hf = ttt::is_hf_checkpoint_dir(in);
        if ((ternarise.method != ttt::Ternarise::Method::none || floats != ttt::FloatProjections::as_stored) && !(to_bitt && hf))
            return usage_error("--ternary and --bf16 convert a Hugging Face LlamaForCausalLM directory to a .bitt file");
        if (ternarise.method != ttt::Ternarise::Method::none && floats != ttt::FloatProjections::as_stored)
            return usage_error("--ternary and --bf16 exclude each other (ternary projections are not float)");
        if (to_bitt && hf) {
            // Hugging Face Llama / BitNet: streamed, one layer in memory at a time.
            const uint64_t fp = ttt::convert_hf_to_bitt(in, out, ternarise, floats);
            std::printf("wrote %s (.bitt v3, from a Hugging Face checkpoint; fingerprint %s)\n", out.c_str(),
                        ttt::hex64(fp).c_str());
            return 0;
        }
        ttt::LoadedModel m = ttt::load_model_path(in, ttt::LoadOptions{});
        if (to_bitt) {
            ttt::save_model_bitt(out, m.weights, m.tokenizer_json, m.tokenizer_config_json);  // streamed: no second copy
            std::printf("wrote %s (.bitt v3)\n", out.c_str());
        } else {
            ttt::write_model_directory(out, m.weights, m.tokenizer_json, m.tokenizer_config_json);
            std::printf("wrote model directory %s\n", out.c_str());
        }
    } catch (const ttt::Error& e) {
        std::fprintf(stderr, "bit-ttt convert: %s\n", e.what());
        return 1;
    }
    return 0;
}

int cmd_forward(int argc, char** argv) {
    if (print_help(argc, argv, kForwardUsage)) return 0;
    std::string model_path, tokens_arg;
    for (int i = 1; i < argc; ++i) {
        if ((!std::strcmp(argv[i], "-m") || !std::strcmp(argv[i], "--model")) && i + 1 < argc) model_path = argv[++i];
        else if (!std::strcmp(argv[i], "--tokens") && i + 1 < argc) tokens_arg = argv[++i];
        else return usage_error(kForwardUsage);
    }
    if (model_path.empty() || tokens_arg.empty()) return usage_error(kForwardUsage);
    std::vector<int32_t> tokens;
    for (size_t pos = 0; pos <= tokens_arg.size();) {
        size_t comma = tokens_arg.find(',', pos);
        if (comma == std::string::npos) comma = tokens_arg.size();
        try {
            tokens.push_back(static_cast<int32_t>(std::stol(tokens_arg.substr(pos, comma - pos))));
        } catch (...) {
            return usage_error("--tokens must be comma-separated integers");
        }
        pos = comma + 1;
    }
    ttt_model* model = nullptr;
    ttt_context* ctx = nullptr;
    if (ttt_load_model(model_path.c_str(), nullptr, &model) != TTT_OK || ttt_create(model, nullptr, &ctx) != TTT_OK) {
        std::fprintf(stderr, "bit-ttt forward: %s\n", ttt_last_error());
        ttt_model_free(model);
        return 1;
    }
    ttt_model_info info;
    info.struct_size = sizeof info;
    ttt_model_get_info(model, &info);
    std::vector<float> logits(size_t(info.vocab_size));
    int rc = 0;
    if (ttt_forward(ctx, tokens.data(), tokens.size(), logits.data()) != TTT_OK) {
        std::fprintf(stderr, "bit-ttt forward: %s\n", ttt_last_error());
        rc = 1;
    } else {
        // The five most likely next tokens.
        std::vector<int32_t> order(logits.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
        const size_t k = std::min<size_t>(5, order.size());
        std::partial_sort(order.begin(), order.begin() + ptrdiff_t(k), order.end(),
                          [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
        uint64_t level = 0;
        ttt_get_soul_level(ctx, &level);
        std::printf("ran %zu tokens; soul level %" PRIu64 "\nnext-token logits, top %zu:\n", tokens.size(), level, k);
        for (size_t i = 0; i < k; ++i) std::printf("  token %6d  logit %9.4f\n", order[i], double(logits[size_t(order[i])]));
    }
    ttt_destroy(ctx);
    ttt_model_free(model);
    return rc;
}
