#include "train/evaluate.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <cmath>
#include <memory>
#include <vector>

#include "api/handles.h"
#include "bit_ttt.h"
#include "common/error.h"
#include "common/log.h"
#include "io/file.h"
#include "io/json.h"
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
std::string tokenizer_mismatch(const ttt_model* m, const DataMeta& meta, const std::string& data_path,
                               const std::string& meta_path) {
    if (meta.tokenizer_fingerprint.empty() || !m->tokenizer) return "";
    const std::string& model_json = m->tokenizer->json();
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

    ModelHandle model;
    check(ttt_load_model(model_path.c_str(), nullptr, &model.m), "cannot load model '" + model_path + "'");
    ttt_model_info info{};
    info.struct_size = sizeof info;
    check(ttt_model_get_info(model.m, &info), "model info");
    const size_t V = static_cast<size_t>(info.vocab_size);

    // The sidecar first: a file made with another tokenizer is refused as such, before its ids are judged.
    DataMeta meta;
    const std::string meta_path = opt.meta_path.empty() ? meta_path_for(data_path) : opt.meta_path;
    const bool have_meta = read_data_meta(meta_path, &meta);
    if (have_meta) {
        const std::string mismatch = tokenizer_mismatch(model.m, meta, data_path, meta_path);
        if (!mismatch.empty() && !opt.any_tokenizer)
            fail_incompatible("evaluation: " + mismatch + "; its token ids mean other text to this model, so the loss "
                              "would be meaningless (--any-tokenizer scores it anyway)");
        if (!mismatch.empty()) log_warn("evaluation: " + mismatch + "; scoring anyway (--any-tokenizer)");
    }

    TokenData data = TokenData::open(data_path, info.vocab_size);
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
    struct Window {
        size_t start, len;
        double nll = 0.0, piece_bytes = 0.0;
    };
    std::vector<Window> windows;
    for (size_t start = 0, targets = 0; start + 1 < N && targets < budget; start += T) {
        size_t len = std::min(T, N - 1 - start);
        if (targets + len > budget) len = static_cast<size_t>(budget - targets);
        windows.push_back({start, len});
        targets += len;
    }

    // Byte length of every token's piece (only when there is no sidecar), looked up once before the workers start.
    std::vector<double> piece_bytes_of;
    if (!use_meta) {
        piece_bytes_of.assign(V, 0.0);
        for (size_t v = 0; v < V; ++v) {
            size_t n = 0;
            ttt_status s = ttt_token_to_piece(model.m, int32_t(v), nullptr, 0, &n);
            if (s == TTT_ERR_UNSUPPORTED)
                throw Error(s, "evaluation: model '" + model_path + "' carries no tokenizer and '" + meta_path +
                                   "' is missing, so bits per byte cannot be computed");
            if (s == TTT_ERR_INVALID_ARGUMENT) continue;  // a padding row the tokenizer does not know: 0 bytes
            if (s != TTT_OK && s != TTT_ERR_BUFFER_TOO_SMALL) check(s, "token piece");
            int32_t eog = 0;
            check(ttt_token_is_eog(model.m, int32_t(v), &eog), "token info");
            piece_bytes_of[v] = eog ? 0.0 : double(n);
        }
    }

    // Windows are independent (each starts from a fresh soul), so workers take them in any order, each with its own
    // context; the sums are formed in window order afterwards, so the result does not depend on the thread count.
    const size_t hw = std::max(1u, std::thread::hardware_concurrency());
    const size_t n_workers = std::min(windows.size(), opt.threads > 0 ? size_t(opt.threads) : hw);
    std::atomic<size_t> next{0};
    uint64_t done = 0;  // guarded by progress_mutex
    std::mutex progress_mutex;
    std::vector<std::exception_ptr> failures(n_workers);
    auto worker = [&](size_t w) {
        try {
            ContextHandle ctx;
            check(ttt_create(model.m, nullptr, &ctx.c), "cannot create a context");
            std::vector<int32_t> tokens(T + 1);
            std::vector<float> logits(T * V);
            for (size_t i = next++; i < windows.size(); i = next++) {
                Window& win = windows[i];
                data.copy(win.start, win.len + 1, tokens.data());
                check(ttt_reset(ctx.c), "reset");
                check(ttt_forward_all(ctx.c, tokens.data(), win.len, logits.data()), "forward");
                for (size_t t = 0; t < win.len; ++t) {
                    const float* row = logits.data() + t * V;
                    const int32_t target = tokens[t + 1];
                    double mx = row[0];
                    for (size_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
                    double sum = 0.0;
                    for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
                    const double nll = (mx + std::log(sum)) - double(row[target]);
                    if (!std::isfinite(nll))
                        throw Error(TTT_ERR_INVALID_STATE, "evaluation: the model produced non-finite logits at token " +
                                                               std::to_string(win.start + t));
                    win.nll += nll;
                    if (!use_meta) win.piece_bytes += piece_bytes_of[size_t(target)];
                }
                if (opt.progress) {  // under the lock, so the reports only grow
                    std::lock_guard<std::mutex> lock(progress_mutex);
                    done += win.len;
                    opt.progress(done, budget);
                }
            }
        } catch (...) {
            failures[w] = std::current_exception();
            next = windows.size();  // the others stop at their next window
        }
    };
    std::vector<std::thread> pool;
    try {
        for (size_t w = 1; w < n_workers; ++w) pool.emplace_back(worker, w);
    } catch (const std::system_error& e) {  // no more threads: the ones started and this one do the work
        log_warn(std::string("evaluation: started ") + std::to_string(pool.size() + 1) + " of " +
                 std::to_string(n_workers) + " workers (" + e.what() + ")");
    }
    if (n_workers > 0) worker(0);
    for (auto& t : pool) t.join();
    for (auto& f : failures)
        if (f) std::rethrow_exception(f);

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
