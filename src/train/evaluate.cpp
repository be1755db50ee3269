#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "bit_ttt.h"
#include "common/error.h"
#include "train/data.h"

namespace ttt {

namespace {

void check(ttt_status s, const std::string& what) {
    if (s != TTT_OK) throw Error(s, what + ": " + ttt_last_error());
}

struct ModelHandle {
    ttt_model* m = nullptr;
    ~ModelHandle() { ttt_model_free(m); }
};
struct ContextHandle {
    ttt_context* c = nullptr;
    ~ContextHandle() { ttt_destroy(c); }
};

}  // namespace

EvalResult evaluate_model(const std::string& model_path, const std::string& data_path, const EvalOptions& opt) {
    if (opt.context_len <= 0 || opt.context_len > (1 << 20))
        fail_argument("evaluation: context_len must be in 1..1048576, is " + std::to_string(opt.context_len));
    if (opt.threads < 0) fail_argument("evaluation: threads must be >= 0");

    ModelHandle model;
    check(ttt_load_model(model_path.c_str(), nullptr, &model.m), "cannot load model '" + model_path + "'");
    ttt_model_info info{};
    info.struct_size = sizeof info;
    check(ttt_model_get_info(model.m, &info), "model info");
    const size_t V = static_cast<size_t>(info.vocab_size);

    TokenData data = TokenData::open(data_path, info.vocab_size);
    if (data.size() < 2) fail_format("token file '" + data_path + "' holds fewer than 2 tokens; nothing to evaluate");

    ttt_context_params cp;
    check(ttt_context_params_init(&cp, sizeof cp), "context params");
    cp.n_threads = opt.threads;
    ContextHandle ctx;
    check(ttt_create(model.m, &cp, &ctx.c), "cannot create a context");

    const size_t T = static_cast<size_t>(opt.context_len);
    const size_t N = data.size();
    uint64_t budget = N - 1;
    if (opt.max_tokens > 0 && opt.max_tokens < budget) budget = opt.max_tokens;

    EvalResult r;
    r.bytes_source = "pieces";
    DataMeta meta;
    const std::string meta_path = opt.meta_path.empty() ? meta_path_for(data_path) : opt.meta_path;
    const bool use_meta = read_data_meta(meta_path, &meta) && meta.tokens == N && meta.bytes > 0;
    if (use_meta) r.bytes_source = "meta";

    std::vector<int32_t> window(T + 1);
    std::vector<float> logits(T * V);
    std::vector<int> piece_len_cache(V, -1);
    double piece_bytes = 0.0;
    for (size_t start = 0; start + 1 < N && r.targets < budget; start += T) {
        size_t len = std::min(T, N - 1 - start);  // inputs [start, start+len), targets shifted by one
        if (r.targets + len > budget) len = static_cast<size_t>(budget - r.targets);
        data.copy(start, len + 1, window.data());
        check(ttt_reset(ctx.c), "reset");
        check(ttt_forward_all(ctx.c, window.data(), len, logits.data()), "forward");
        for (size_t t = 0; t < len; ++t) {
            const float* row = logits.data() + t * V;
            const int32_t target = window[t + 1];
            double mx = row[0];
            for (size_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
            double sum = 0.0;
            for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
            const double nll = (mx + std::log(sum)) - double(row[target]);
            if (!std::isfinite(nll))
                throw Error(TTT_ERR_INVALID_STATE, "evaluation: the model produced non-finite logits at token " +
                                                       std::to_string(start + t));
            r.total_nll += nll;
            if (!use_meta) {
                int& len_cached = piece_len_cache[size_t(target)];
                if (len_cached < 0) {
                    int32_t eog = 0;
                    check(ttt_token_is_eog(model.m, target, &eog), "token info");
                    size_t n = 0;
                    if (!eog) {
                        ttt_status s = ttt_token_to_piece(model.m, target, nullptr, 0, &n);
                        if (s == TTT_ERR_UNSUPPORTED) {
                            throw Error(s, "evaluation: model '" + model_path + "' carries no tokenizer and '" +
                                               meta_path + "' is missing, so bits per byte cannot be computed");
                        }
                        if (s != TTT_OK && s != TTT_ERR_BUFFER_TOO_SMALL) check(s, "token piece");
                    }
                    len_cached = eog ? 0 : int(n);
                }
                piece_bytes += len_cached;
            }
        }
        r.targets += len;
        ++r.windows;
        if (opt.progress) opt.progress(r.targets, budget);
    }
    r.mean_loss = r.total_nll / double(r.targets);
    r.perplexity = std::exp(r.mean_loss);
    r.bytes = use_meta ? double(meta.bytes) * double(r.targets) / double(meta.tokens) : piece_bytes;
    r.bits_per_byte = r.bytes > 0.0 ? r.total_nll / std::log(2.0) / r.bytes : 0.0;
    return r;
}

}  // namespace ttt
