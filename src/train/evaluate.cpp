#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "backend/cpu_backend.h"
#include "common/error.h"
#include "common/log.h"
#include "io/file.h"
#include "io/json.h"
#include "load/model_files.h"
#include "model/forward.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"

namespace ttt {

namespace {

// Windows run together, as contexts of one batch, until their logits would take this many floats.
constexpr size_t kMaxLogitFloats = size_t(16) << 20;

struct Window {
    size_t start, len;  // inputs [start, start + len), targets shifted by one
    double nll = 0.0, piece_bytes = 0.0;
};

// Byte length of every token's piece, for bits per byte without a .meta.json sidecar. A padding row the tokenizer
// does not know counts 0 bytes, as an end-of-generation token does.
std::vector<double> token_piece_bytes(const LoadedModel& model, const std::string& model_path,
                                      const std::string& meta_path) {
    const ModelConfig& config = model.weights.config;
    if (model.tokenizer_json.empty())
        throw Error(TTT_ERR_UNSUPPORTED, "evaluation: model '" + model_path + "' carries no tokenizer and '" +
                                             meta_path + "' is missing, so bits per byte cannot be computed");
    const auto tok = Tokenizer::for_model(model.tokenizer_json, config.vocab_size, config.bos_id, config.eos_id,
                                          model.source);
    std::vector<double> bytes(size_t(config.vocab_size), 0.0);
    for (size_t v = 0; v < bytes.size() && int32_t(v) < tok->vocab_size(); ++v)
        bytes[v] = tok->is_eog(int32_t(v)) ? 0.0 : double(tok->token_to_piece(int32_t(v)).size());
    return bytes;
}

// Adds the next-token NLL of every position of a window (its logits [len, V], its tokens [len + 1]).
void score_window(const float* logits, size_t V, const int32_t* tokens, const std::vector<double>& piece_bytes,
                  Window* win) {
    for (size_t t = 0; t < win->len; ++t) {
        const float* row = logits + t * V;
        const int32_t target = tokens[t + 1];
        double mx = row[0];
        for (size_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
        double sum = 0.0;
        for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
        const double nll = (mx + std::log(sum)) - double(row[target]);
        if (!std::isfinite(nll))
            throw Error(TTT_ERR_INVALID_STATE, "evaluation: the model produced non-finite logits at token " +
                                                   std::to_string(win->start + t));
        win->nll += nll;
        if (!piece_bytes.empty()) win->piece_bytes += piece_bytes[size_t(target)];
    }
}

std::string canonical_json(const std::string& text) {
    try {
        return json_minify(parse_json(text, "tokenizer")->root);
    } catch (const Error&) {
        return text;
    }
}

// Ids made by another tokenizer score as nonsense that looks like a plausible loss, so the token file's tokenizer
// (the fingerprint in its .meta.json, FNV-1a of the tokenizer.json text) must be the model's. A .bitt embeds its
// tokenizer minified, so when the texts differ the tokenizer.json that `bit-ttt data` left beside the token file is
// compared as canonical JSON. Returns "" when they match or nothing can be compared, else the reason.
std::string tokenizer_mismatch(const std::string& model_json, const DataMeta& meta, const std::string& data_path,
                               const std::string& meta_path) {
    if (meta.tokenizer_fingerprint.empty() || model_json.empty()) return "";
    if (tokenizer_fingerprint(model_json) == meta.tokenizer_fingerprint) return "";
    const size_t slash = data_path.find_last_of('/');
    const std::string beside = (slash == std::string::npos ? std::string(".") : data_path.substr(0, slash)) + "/tokenizer.json";
    if (file_exists(beside)) {
        const std::vector<uint8_t> bytes = read_file(beside);
        const std::string text(bytes.begin(), bytes.end());
        if (tokenizer_fingerprint(text) == meta.tokenizer_fingerprint) {
            if (canonical_json(text) == canonical_json(model_json)) return "";
            return "'" + data_path + "' was made with another tokenizer than the model's ('" + beside +
                   "', fingerprint " + meta.tokenizer_fingerprint + " in '" + meta_path + "')";
        }
    }
    log_warn("evaluation: cannot confirm that '" + data_path + "' was made with the model's tokenizer ('" + meta_path +
             "' names tokenizer " + meta.tokenizer_fingerprint + ", the model's is " + tokenizer_fingerprint(model_json) +
             ", and no matching tokenizer.json is beside the data)");
    return "";
}

}  // namespace

EvalResult evaluate_model(const std::string& model_path, const std::string& data_path, const EvalOptions& opt) {
    if (opt.context_len <= 0 || opt.context_len > (1 << 20))
        fail_argument("evaluation: context_len must be in 1..1048576, is " + std::to_string(opt.context_len));
    if (opt.threads < 0) fail_argument("evaluation: threads must be >= 0");

    const LoadedModel model = load_model_path(model_path, LoadOptions{});
    const ModelConfig& config = model.weights.config;
    const size_t V = static_cast<size_t>(config.vocab_size);

    // The sidecar first: a file made with another tokenizer is refused as such, before its ids are judged.
    DataMeta meta;
    const std::string meta_path = opt.meta_path.empty() ? meta_path_for(data_path) : opt.meta_path;
    const bool have_meta = read_data_meta(meta_path, &meta);
    if (have_meta) {
        const std::string mismatch = tokenizer_mismatch(model.tokenizer_json, meta, data_path, meta_path);
        if (!mismatch.empty() && !opt.any_tokenizer)
            fail_incompatible("evaluation: " + mismatch + "; its token ids mean other text to this model, so the loss "
                              "would be meaningless (--any-tokenizer scores it anyway)");
        if (!mismatch.empty()) log_warn("evaluation: " + mismatch + "; scoring anyway (--any-tokenizer)");
    }

    TokenData data = TokenData::open(data_path, config.vocab_size);
    if (data.size() < 2) fail_format("token file '" + data_path + "' holds fewer than 2 tokens; nothing to evaluate");

    const size_t T = static_cast<size_t>(opt.context_len);
    const size_t N = data.size();
    uint64_t budget = N - 1;
    if (opt.max_tokens > 0 && opt.max_tokens < budget) budget = opt.max_tokens;

    EvalResult r;
    r.bytes_source = "pieces";
    const bool use_meta = have_meta && meta.tokens == N && meta.bytes > 0;
    if (use_meta) r.bytes_source = "meta";

    // The windows: inputs [start, start+len), targets shifted by one.
    std::vector<Window> windows;
    for (size_t start = 0, targets = 0; start + 1 < N && targets < budget; start += T) {
        size_t len = std::min(T, N - 1 - start);
        if (targets + len > budget) len = static_cast<size_t>(budget - targets);
        windows.push_back({start, len});
        targets += len;
    }

    std::vector<double> piece_bytes_of;
    if (!use_meta) piece_bytes_of = token_piece_bytes(model, model_path, meta_path);

    // Windows are independent (each starts from a fresh soul): they run as the sequences of one batch through the
    // forward, several at a time, on the backend's threads. Every window's logits are those of running it alone
    // (the forward's contract), and the sums are formed in window order, so nothing depends on the thread count.
    auto backend = CpuBackend::best(opt.threads, std::nullopt, opt.int8_activations);
    auto prepared = PreparedModel::create(model.weights, nullptr, *backend);
    const size_t group = std::max<size_t>(1, std::min<size_t>(64, kMaxLogitFloats / (T * V)));
    Forward forward(config, all_layers_on(backend.get(), prepared),
                    std::max<size_t>(128, std::min<size_t>(group * T, 1024)));
    std::vector<int32_t> tokens(group * (T + 1));
    std::vector<float> logits(group * T * V);
    std::vector<SoulState> souls(group, SoulState(config));
    std::vector<SequenceInput> inputs(group);
    uint64_t done = 0;
    for (size_t w0 = 0; w0 < windows.size(); w0 += group) {
        const size_t k = std::min(group, windows.size() - w0);
        for (size_t i = 0; i < k; ++i) {
            const Window& win = windows[w0 + i];
            int32_t* tk = tokens.data() + i * (T + 1);
            data.copy(win.start, win.len + 1, tk);
            souls[i].reset();
            inputs[i] = {tk, win.len, &souls[i], LogitRows::all, logits.data() + i * T * V};
        }
        forward.run(inputs.data(), k);
        for (size_t i = 0; i < k; ++i) {
            Window& win = windows[w0 + i];
            score_window(logits.data() + i * T * V, V, tokens.data() + i * (T + 1), piece_bytes_of, &win);
            done += win.len;
        }
        if (opt.progress) opt.progress(done, budget);
    }

    double piece_bytes = 0.0;
    for (const Window& win : windows) {
        r.total_nll += win.nll;
        piece_bytes += win.piece_bytes;
        r.targets += win.len;
    }
    r.windows = windows.size();
    r.mean_loss = r.total_nll / double(r.targets);
    r.perplexity = std::exp(r.mean_loss);
    r.bytes = use_meta ? double(meta.bytes) * double(r.targets) / double(meta.tokens) : piece_bytes;
    r.bits_per_byte = r.bytes > 0.0 ? r.total_nll / std::log(2.0) / r.bytes : 0.0;
    return r;
}

}  // namespace ttt
