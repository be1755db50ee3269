#include "train/trainer.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "backend/thread_pool.h"
#include "common/error.h"
#include "common/log.h"
#include "load/bitt_model.h"
#include "load/config_json.h"
#include "io/file.h"
#include "io/json.h"
#include "tokenizer/tokenizer.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/schedule.h"

namespace ttt {

namespace {

std::atomic<int> g_stop_requested{0};

extern "C" void training_sigint_handler(int) {
    // A second Ctrl-C while the first is being honoured ends the process the default way.
    if (g_stop_requested.load(std::memory_order_relaxed) == 2) {
        ::signal(SIGINT, SIG_DFL);
        ::raise(SIGINT);
        return;
    }
    g_stop_requested.store(2, std::memory_order_relaxed);
}

// Installs the SIGINT handler for the lifetime of a run and restores the previous one.
struct SigintGuard {
    bool active = false;
    struct sigaction old {};
    explicit SigintGuard(bool install) {
        if (!install) return;
        struct sigaction sa {};
        sa.sa_handler = training_sigint_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        active = ::sigaction(SIGINT, &sa, &old) == 0;
    }
    ~SigintGuard() {
        if (active) ::sigaction(SIGINT, &old, nullptr);
    }
};

std::string fmt(double v, const char* f = "%.9g") {
    char b[48];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

std::string json_number(double v) { return std::isfinite(v) ? fmt(v) : "null"; }

void bad_option(const std::string& name, const std::string& why) { fail_argument("training option " + name + " " + why); }

// Keep the log lines of updates 1..step (a resumed run rewrites what came after its checkpoint).
void truncate_log(const std::string& path, int64_t step) {
    if (!file_exists(path)) return;
    std::vector<uint8_t> bytes = read_file(path);
    std::string text(bytes.begin(), bytes.end()), kept;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) break;  // an incomplete last line: dropped
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        const char* key = "{\"step\":";
        if (line.compare(0, std::strlen(key), key) != 0) continue;
        const long long s = std::strtoll(line.c_str() + std::strlen(key), nullptr, 10);
        if (s <= step) kept += line + "\n";
    }
    write_file_atomic(path, kept);
}

// The loss logged for update `step` (a resumed run that has nothing left to do reports it), or NaN.
double logged_loss(const std::string& path, int64_t step) {
    if (!file_exists(path)) return std::nan("");
    const std::vector<uint8_t> bytes = read_file(path);
    const std::string text(bytes.begin(), bytes.end());
    const std::string key = "{\"step\":" + std::to_string(step) + ",\"loss\":";
    const size_t at = text.rfind(key);
    if (at == std::string::npos || (at > 0 && text[at - 1] != '\n')) return std::nan("");
    return std::strtod(text.c_str() + at + key.size(), nullptr);
}

}  // namespace

void request_training_stop() { g_stop_requested.store(1, std::memory_order_relaxed); }

void validate_train_options(const TrainOptions& o) {
    if (o.data_dir.empty()) bad_option("data_dir", "is empty");
    if (o.out_dir.empty()) bad_option("out_dir", "is empty");
    if (o.vocab_size < 0) bad_option("vocab_size", "must be >= 0 (0 = from the tokenizer)");
    if (o.context_len <= 0 || o.context_len > (1 << 20)) bad_option("context_len", "must be in 1..1048576, is " + std::to_string(o.context_len));
    if (o.batch_size <= 0 || o.batch_size > (1 << 16)) bad_option("batch_size", "must be in 1..65536, is " + std::to_string(o.batch_size));
    if (int64_t(o.batch_size) * o.context_len > (int64_t(1) << 28)) bad_option("batch_size", "× context_len is too large");
    if (o.accum <= 0 || o.accum > 1 << 16) bad_option("accum", "must be in 1..65536, is " + std::to_string(o.accum));
    if (!std::isfinite(o.clip) || o.clip < 0.0) bad_option("clip", "must be a number >= 0 (0 = off), is " + fmt(o.clip, "%g"));
    if (o.threads < 0 || o.threads > 1024) bad_option("threads", "must be in 0..1024 (0 = all), is " + std::to_string(o.threads));
    if (o.eval_interval < 0) bad_option("eval_interval", "must be >= 0");
    if (o.eval_batches < 0 || o.eval_batches > 1 << 20) bad_option("eval_batches", "must be in 0..1048576");
    if (o.save_interval < 0) bad_option("save_interval", "must be >= 0");
    if (o.keep_last < 0) bad_option("keep_last", "must be >= 0 (0 = keep all)");
    if (!std::isfinite(o.ttt_decay_bias) || std::fabs(o.ttt_decay_bias) > 30.0f)
        bad_option("ttt_decay_bias", "must be a number in -30..30, is " + fmt(o.ttt_decay_bias, "%g"));
    if (o.stream_windows <= 0 || o.stream_windows > 1 << 20)
        bad_option("stream_windows", "must be in 1..1048576, is " + std::to_string(o.stream_windows));
    if (o.stream_windows > 1 && o.ttt_kind != "delta")
        bad_option("stream_windows", "above 1 needs ttt_kind \"delta\" (upstream's layer trains from a zero state)");
    if (o.stream_windows > 1 && o.float_weights)
        bad_option("stream_windows", "above 1 cannot be combined with float_weights");
    LrSchedule s{o.lr, o.min_lr, o.warmup_steps, o.steps};
    validate_schedule(s);
    validate_adamw(AdamWOptions{o.beta1, o.beta2, o.eps, o.weight_decay});
}

ModelConfig model_config_from_options(const TrainOptions& o, int32_t vocab_size, int32_t bos_id, int32_t eos_id) {
    ModelConfig c;
    c.vocab_size = vocab_size;
    c.hidden_dim = o.dim;
    c.num_layers = o.layers;
    c.intermediate_dim = o.intermediate_dim > 0 ? o.intermediate_dim : (o.dim > 0 && o.dim <= (1 << 18) ? 4 * o.dim : o.dim);
    c.inner_lr = o.inner_lr;
    c.bitlinear_scale = o.bitlinear_scale;
    c.act_bits = o.act_bits;
    c.ttt_chunk = o.ttt_chunk;
    if (o.ttt_kind == "delta") c.ttt_kind = TttKind::delta;
    else if (o.ttt_kind != "upstream") fail_format("model config: \"ttt_kind\" must be \"upstream\" or \"delta\", is \"" + o.ttt_kind + "\"");
    c.ttt_heads = o.ttt_heads;
    c.ttt_width = o.ttt_dim;
    c.norm_eps = o.norm_eps;
    c.bos_id = bos_id;
    c.eos_id = eos_id;
    if (o.intermediate_dim < 0) fail_format("model config: \"intermediate_dim\" must be >= 0 (0 = 4·dim)");
    validate_config(c, "model config");
    return c;
}

void apply_model_config(const ModelConfig& c, TrainOptions* o) {
    o->vocab_size = c.vocab_size;
    o->dim = c.hidden_dim;
    o->layers = c.num_layers;
    o->intermediate_dim = c.intermediate_dim;
    o->inner_lr = c.inner_lr;
    o->ttt_chunk = c.ttt_chunk;
    o->ttt_kind = c.is_delta() ? "delta" : "upstream";
    o->ttt_heads = c.ttt_heads;
    o->ttt_dim = c.ttt_dim() != c.hidden_dim / 4 ? c.ttt_dim() : 0;
    o->bitlinear_scale = c.bitlinear_scale;
    o->act_bits = c.act_bits;
    o->norm_eps = c.norm_eps;
}

std::string train_options_to_json(const TrainOptions& o) {
    std::string s = "{";
    auto i = [&](const char* k, int64_t v) { s += std::string(s.size() > 1 ? "," : "") + "\"" + k + "\":" + std::to_string(v); };
    auto u = [&](const char* k, uint64_t v) { s += std::string(s.size() > 1 ? "," : "") + "\"" + k + "\":" + std::to_string(v); };
    auto d = [&](const char* k, double v) { s += std::string(s.size() > 1 ? "," : "") + "\"" + k + "\":" + fmt(v, "%.17g"); };
    auto b = [&](const char* k, bool v) { s += std::string(s.size() > 1 ? "," : "") + "\"" + k + "\":" + (v ? "true" : "false"); };
    i("vocab_size", o.vocab_size);
    i("dim", o.dim);
    i("layers", o.layers);
    i("intermediate_dim", o.intermediate_dim);
    d("inner_lr", o.inner_lr);
    i("ttt_chunk", o.ttt_chunk);
    if (o.ttt_kind != "upstream") {  // upstream runs keep their option files as before
        s += ",\"ttt_kind\":\"" + o.ttt_kind + "\"";
        i("ttt_heads", o.ttt_heads);
        if (o.ttt_dim != 0) i("ttt_dim", o.ttt_dim);  // absent = dim/4: older option files stay valid
        d("ttt_decay_bias", o.ttt_decay_bias);
        if (o.ttt_recall_init) b("ttt_recall_init", true);  // absent = false: older option files stay valid
        if (o.stream_windows != 1) i("stream_windows", o.stream_windows);  // absent = 1: likewise
    }
    b("bitlinear_scale", o.bitlinear_scale);
    i("act_bits", o.act_bits);
    d("norm_eps", o.norm_eps);
    i("context_len", o.context_len);
    i("batch_size", o.batch_size);
    d("lr", o.lr);
    d("min_lr", o.min_lr);
    i("warmup_steps", o.warmup_steps);
    i("steps", o.steps);
    i("accum", o.accum);
    d("clip", o.clip);
    d("weight_decay", o.weight_decay);
    d("beta1", o.beta1);
    d("beta2", o.beta2);
    d("eps", o.eps);
    u("seed", o.seed);
    i("threads", o.threads);
    i("eval_interval", o.eval_interval);
    i("eval_batches", o.eval_batches);
    i("save_interval", o.save_interval);
    i("keep_last", o.keep_last);
    b("float_weights", o.float_weights);
    return s + "}";
}

void apply_train_config_file(const std::string& json, const std::string& what, TrainOptions* o) {
    auto doc = parse_json(json, what);
    simdjson::dom::object obj;
    if (doc->root.get(obj) != simdjson::SUCCESS) fail_format(what + ": expected a JSON object");
    // The option names are those train_options_to_json writes.
    auto defaults = parse_json(train_options_to_json(TrainOptions{}), "default options");
    simdjson::dom::object known;
    if (defaults->root.get(known) != simdjson::SUCCESS) fail_format("default options: not an object");
    static const std::pair<const char*, const char*> kAliases[] = {
        {"hidden_dim", "dim"},         {"hidden_size", "dim"},        {"num_layers", "layers"},
        {"n_layers", "layers"},        {"num_hidden_layers", "layers"}, {"intermediate_size", "intermediate_dim"},
        {"rms_norm_eps", "norm_eps"}};
    static const char* const kIgnored[] = {"bos_id", "eos_id", "bos_token_id", "eos_token_id"};
    // A model's config.json (it names the model's size the config.json way, or its arch) follows that format's
    // rule: unknown keys (upstream's n_heads, rope_theta, …, Hugging Face extras) are ignored. A training config
    // names options the way the trainer does, and there an unknown key is a typo.
    bool model_config = false;
    for (auto field : obj)
        for (const auto& a : kAliases) model_config = model_config || field.key == a.first || field.key == "arch";
    std::string arch;
    if (json_get_string_opt(obj, "arch", what, &arch) && arch != "ttt")
        fail_unsupported(what + ": \"arch\" is \"" + arch + "\"; the trainer trains TTT BitLlama models (arch \"ttt\") only");
    std::string normalised = "{";
    std::vector<std::string> seen;
    for (auto field : obj) {
        std::string key(field.key);
        bool ignored = key == "arch";
        for (const char* k : kIgnored) ignored = ignored || key == k;
        if (ignored) continue;
        for (const auto& a : kAliases)
            if (key == a.first) key = a.second;
        simdjson::dom::element unused;
        if (!json_find(known, key, &unused)) {
            if (model_config) continue;
            std::string names;
            for (auto k : known) names += std::string(names.empty() ? "" : ", ") + std::string(k.key);
            fail_format(what + ": unknown key " + json_quote(field.key) + " (known: " + names + ", and config.json's names)");
        }
        for (const std::string& s : seen)
            if (s == key) fail_format(what + ": \"" + key + "\" is given twice (under two of its names?)");
        seen.push_back(key);
        normalised += std::string(normalised.size() > 1 ? "," : "") + json_quote(key) + ":" + json_minify(field.value);
    }
    train_options_from_json(normalised + "}", o, what);
}

void train_options_from_json(const std::string& json, TrainOptions* out, const std::string& what) {
    TrainOptions parsed = *out;  // all or nothing: a bad value leaves *out as it was
    TrainOptions* o = &parsed;
    auto doc = parse_json(json, what);
    simdjson::dom::object obj;
    if (doc->root.get(obj) != simdjson::SUCCESS) fail_format(what + ": expected an object");
    int64_t iv;
    double dv;
    bool bv;
    auto i32 = [&](const char* k, int32_t* dst) {
        if (json_get_int_opt(obj, k, what, &iv)) {
            if (iv < INT32_MIN || iv > INT32_MAX) fail_format(what + ": \"" + k + "\" is out of range");
            *dst = int32_t(iv);
        }
    };
    auto i64 = [&](const char* k, int64_t* dst) {
        if (json_get_int_opt(obj, k, what, &iv)) *dst = iv;
    };
    auto f32 = [&](const char* k, float* dst) {
        json_get_float_opt(obj, k, what, dst);
    };
    auto f64 = [&](const char* k, double* dst) {
        if (json_get_double_opt(obj, k, what, &dv)) *dst = dv;
    };
    i32("vocab_size", &o->vocab_size);
    i32("dim", &o->dim);
    i32("layers", &o->layers);
    i32("intermediate_dim", &o->intermediate_dim);
    f32("inner_lr", &o->inner_lr);
    i32("ttt_chunk", &o->ttt_chunk);
    json_get_string_opt(obj, "ttt_kind", what, &o->ttt_kind);
    i32("ttt_heads", &o->ttt_heads);
    i32("ttt_dim", &o->ttt_dim);
    f32("ttt_decay_bias", &o->ttt_decay_bias);
    if (json_get_bool_opt(obj, "ttt_recall_init", what, &bv)) o->ttt_recall_init = bv;
    i32("stream_windows", &o->stream_windows);
    if (json_get_bool_opt(obj, "bitlinear_scale", what, &bv)) o->bitlinear_scale = bv;
    if (json_get_bool_opt(obj, "float_weights", what, &bv)) o->float_weights = bv;
    i32("act_bits", &o->act_bits);
    f32("norm_eps", &o->norm_eps);
    i32("context_len", &o->context_len);
    i32("batch_size", &o->batch_size);
    f64("lr", &o->lr);
    f64("min_lr", &o->min_lr);
    i64("warmup_steps", &o->warmup_steps);
    i64("steps", &o->steps);
    i32("accum", &o->accum);
    f64("clip", &o->clip);
    f32("weight_decay", &o->weight_decay);
    f32("beta1", &o->beta1);
    f32("beta2", &o->beta2);
    f32("eps", &o->eps);
    simdjson::dom::element e;
    if (json_find(obj, "seed", &e)) {
        uint64_t sv;
        if (e.get_uint64().get(sv) != simdjson::SUCCESS) fail_format(what + ": \"seed\" must be a non-negative integer");
        o->seed = sv;
    }
    i32("threads", &o->threads);
    i64("eval_interval", &o->eval_interval);
    i32("eval_batches", &o->eval_batches);
    i64("save_interval", &o->save_interval);
    i32("keep_last", &o->keep_last);
    *out = parsed;
}

ModelWeights weights_from_train_params(const TrainParams& p) {
    const ModelConfig& c = p.config;
    auto tensor = [&](const std::string& name, size_t expect) -> const float* {
        const ParamTensor* t = p.find(name);
        if (!t) throw Error(TTT_ERR_INVALID_STATE, "export: the trained parameters have no tensor '" + name + "'");
        if (t->size != expect || t->offset + t->size > p.values.size())
            throw Error(TTT_ERR_INVALID_STATE, "export: tensor '" + name + "' has " + std::to_string(t->size) +
                                                   " values, expected " + std::to_string(expect));
        return p.values.data() + t->offset;
    };
    auto vec = [&](const std::string& name, size_t n) {
        const float* x = tensor(name, n);
        return std::vector<float>(x, x + n);
    };
    auto tern = [&](const std::string& name, int32_t rows, int32_t cols) {
        return TernaryMatrix::from_latent(tensor(name, size_t(rows) * size_t(cols)), rows, cols);
    };
    const int32_t V = c.vocab_size, D = c.hidden_dim, I = c.intermediate_dim, d = c.ttt_dim();
    ModelWeights w;
    w.config = c;
    w.embed = vec("embed.weight", size_t(V) * size_t(D));
    for (int32_t i = 0; i < c.num_layers; ++i) {
        const std::string pre = "layers." + std::to_string(i);
        LayerWeights L;
        L.norm1 = vec(pre + ".norm1.weight", size_t(D));
        if (c.is_delta()) {
            const size_t H2 = 2 * size_t(c.ttt_heads);
            L.ttt_key = tern(pre + ".ttt.key.weight", d, D);
            L.ttt_value = tern(pre + ".ttt.value.weight", d, D);
            L.ttt_query = tern(pre + ".ttt.query.weight", d, D);
            L.ttt_conv_k = vec(pre + ".ttt.conv_k.weight", size_t(d) * 4);
            L.ttt_conv_q = vec(pre + ".ttt.conv_q.weight", size_t(d) * 4);
            L.ttt_gate = vec(pre + ".ttt.gate.weight", H2 * size_t(D));
            L.ttt_gate_bias = vec(pre + ".ttt.gate.bias", H2);
        } else {
            L.ttt_down = tern(pre + ".ttt.down.weight", d, D);
        }
        L.ttt_up = tern(pre + ".ttt.up.weight", D, d);
        L.norm2 = vec(pre + ".norm2.weight", size_t(D));
        L.mlp_gate = tern(pre + ".mlp.gate_proj.weight", I, D);
        L.mlp_up = tern(pre + ".mlp.up_proj.weight", I, D);
        L.mlp_down = tern(pre + ".mlp.down_proj.weight", D, I);
        w.layers.push_back(std::move(L));
    }
    w.norm_f = vec("norm_f.weight", size_t(D));
    w.lm_head = vec("lm_head.weight", size_t(V) * size_t(D));
    w.check_shapes("trained model");
    return w;
}

namespace {

struct Run {
    const TrainOptions& opt;
    const TrainCallbacks& cb;
    Run(const TrainOptions& o, const TrainCallbacks& c) : opt(o), cb(c) {}

    void say(const std::string& m) const {
        if (cb.message)
            cb.message(m);
        else
            log_info(m);
    }
};

// Options whose change makes a resumed run differ from the uninterrupted one.
void warn_option_changes(const Run& run, const std::string& stored_json, const TrainOptions& now) {
    TrainOptions then = now;
    try {
        train_options_from_json(stored_json, &then);
    } catch (const Error&) {
        run.say("warning: the checkpoint's training options cannot be read; cannot compare them");
        return;
    }
    std::string diff;
    auto cmp = [&](const char* name, const std::string& a, const std::string& b) {
        if (a != b) diff += std::string(diff.empty() ? "" : ", ") + name + " " + a + " -> " + b;
    };
    cmp("context_len", std::to_string(then.context_len), std::to_string(now.context_len));
    cmp("batch_size", std::to_string(then.batch_size), std::to_string(now.batch_size));
    cmp("lr", fmt(then.lr, "%g"), fmt(now.lr, "%g"));
    cmp("min_lr", fmt(then.min_lr, "%g"), fmt(now.min_lr, "%g"));
    cmp("warmup_steps", std::to_string(then.warmup_steps), std::to_string(now.warmup_steps));
    cmp("steps", std::to_string(then.steps), std::to_string(now.steps));
    cmp("accum", std::to_string(then.accum), std::to_string(now.accum));
    cmp("clip", fmt(then.clip, "%g"), fmt(now.clip, "%g"));
    cmp("weight_decay", fmt(then.weight_decay, "%g"), fmt(now.weight_decay, "%g"));
    cmp("beta1", fmt(then.beta1, "%g"), fmt(now.beta1, "%g"));
    cmp("beta2", fmt(then.beta2, "%g"), fmt(now.beta2, "%g"));
    cmp("eps", fmt(then.eps, "%g"), fmt(now.eps, "%g"));
    if (then.float_weights != now.float_weights)
        fail_incompatible(std::string("the checkpoint was trained with") + (then.float_weights ? "" : "out") +
                          " --float-weights; resume it the same way (or start a new run in another folder)");
    if (then.stream_windows != now.stream_windows)
        fail_incompatible("the checkpoint was trained with --stream-windows " + std::to_string(then.stream_windows) +
                          "; resume it the same way (or start a new run in another folder)");
    if (then.seed != now.seed)
        run.say("note: --seed " + std::to_string(now.seed) + " is ignored; the run continues with its seed " +
                std::to_string(then.seed));
    if (!diff.empty())
        run.say("warning: resuming with changed options (" + diff +
                "); the run will not reproduce an uninterrupted one");
}

}  // namespace

namespace {

// The tokenizer, the model config it implies and the token files of a run, checked against each other.
struct RunData {
    std::string tokenizer_path, tokenizer_json, tokenizer_fp;
    ModelConfig config;
    TokenData train, val;
    bool have_val = false;
};

RunData open_run_data(TrainOptions& opt, const Run& run) {
    RunData d;
    d.tokenizer_path = opt.data_dir + "/tokenizer.json";
    if (!file_exists(d.tokenizer_path))
        fail_io("training data directory '" + opt.data_dir + "' has no tokenizer.json (run `bit-ttt data` first)");
    std::vector<uint8_t> tok_bytes = read_file(d.tokenizer_path);
    d.tokenizer_json.assign(tok_bytes.begin(), tok_bytes.end());
    std::unique_ptr<Tokenizer> tokenizer = Tokenizer::from_json(d.tokenizer_json);
    const int32_t vocab = opt.vocab_size > 0 ? opt.vocab_size : tokenizer->vocab_size();
    if (vocab < tokenizer->vocab_size())
        fail_argument("training option vocab_size " + std::to_string(vocab) + " is smaller than the tokenizer's vocab (" +
                      std::to_string(tokenizer->vocab_size()) + ")");
    opt.vocab_size = vocab;
    d.config = model_config_from_options(opt, vocab, tokenizer->bos_id(), tokenizer->eos_id());
    opt.intermediate_dim = d.config.intermediate_dim;  // recorded resolved, like threads

    d.train = TokenData::open(opt.data_dir + "/train.u32", vocab);
    d.train.require_window(opt.context_len);
    DataMeta train_meta;
    const bool have_train_meta = read_data_meta(meta_path_for(d.train.path()), &train_meta);
    d.tokenizer_fp = tokenizer_fingerprint(d.tokenizer_json);
    if (have_train_meta && !train_meta.tokenizer_fingerprint.empty() && train_meta.tokenizer_fingerprint != d.tokenizer_fp)
        fail_incompatible("'" + d.train.path() + "' was made with another tokenizer than '" + d.tokenizer_path +
                          "' (fingerprints " + train_meta.tokenizer_fingerprint + " vs " + d.tokenizer_fp + ")");
    const std::string val_path = opt.data_dir + "/val.u32";
    if (file_exists(val_path) && opt.eval_interval > 0 && opt.eval_batches > 0) {
        d.val = TokenData::open(val_path, vocab);
        d.val.require_window(opt.context_len);
        d.have_val = true;
    } else if (opt.eval_interval > 0 && opt.eval_batches > 0) {
        run.say("note: no '" + val_path + "'; training without validation");
    }
    return d;
}

// One training run: its state, and the steps of run_training as methods.
class TrainingRun {
public:
    TrainingRun(TrainOptions& opt, const Run& run, RunData& data)
        : opt_(opt),
          run_(run),
          data_(data),
          ckpt_dir_(opt.out_dir + "/checkpoints"),
          log_path_(opt.log_path.empty() ? opt.out_dir + "/train_log.jsonl" : opt.log_path),
          stop_file_(opt.stop_file.empty() ? opt.out_dir + "/stop_signal" : opt.stop_file),
          pool_(opt.threads),
          params_(TrainParams::create(data.config)),
          adamw_(params_, AdamWOptions{opt.beta1, opt.beta2, opt.eps, opt.weight_decay}),
          seed_(opt.seed) {
        std::error_code ec;
        std::filesystem::create_directories(ckpt_dir_, ec);
        if (!is_directory(ckpt_dir_)) fail_io("cannot create '" + ckpt_dir_ + "': " + ec.message());
    }

    TrainResult run(const TrainCallbacks& callbacks);

private:
    void resume_or_start();
    void open_log();
    void prepare_batches();
    double validation_loss();
    double accumulate_gradients();
    void log_step(const TrainProgress& p);
    CheckpointInfo checkpoint_info() const;
    void save();
    void finish();

    TrainOptions& opt_;
    const Run& run_;
    RunData& data_;
    const std::string ckpt_dir_, log_path_, stop_file_;
    ThreadPool pool_;
    TrainParams params_;
    AdamW adamw_;
    TrainResult result_;
    int64_t step_ = 0, last_saved_step_ = -1;
    uint64_t data_position_ = 0, seed_ = 0;
    bool has_best_ = false, resumed_ = false, stopped_ = false;
    double best_val_ = 0.0;
    std::string options_json_;
    std::unique_ptr<FILE, int (*)(FILE*)> log_{nullptr, &std::fclose};

    std::unique_ptr<WindowSampler> sampler_;
    std::unique_ptr<TrainWorkspace> ws_;
    std::vector<int32_t> inputs_, targets_, val_inputs_, val_targets_;
    size_t val_batches_ = 0;
    std::vector<float> grads_;
    ForwardOptions forward_options_;
    // Stream training: the souls the next batch's rows start from, and where a batch writes its rows' souls.
    std::vector<float> souls_, souls_next_;
    bool has_souls_ = false;  // souls_ came from the checkpoint
    size_t stream_soul_floats() const {
        return size_t(data_.config.num_layers) * size_t(opt_.batch_size) * train_soul_size(data_.config);
    }
    const std::vector<float>* carried_souls() const {
        return opt_.stream_windows > 1 && !sampler_->stream_starts() ? &souls_ : nullptr;
    }
};

void TrainingRun::resume_or_start() {
    if (opt_.resume) {
        CheckpointFile ckpt;
        std::vector<std::string> skipped;
        if (find_resume_checkpoint(ckpt_dir_, &ckpt, &skipped)) {
            for (const std::string& s : skipped) run_.say("warning: skipping a checkpoint that does not validate: " + s);
            const CheckpointInfo& in = ckpt.info;
            restore_checkpoint(ckpt, params_, adamw_);  // throws INCOMPATIBLE for another config
            if (opt_.stream_windows > 1) has_souls_ = restore_stream_souls(ckpt, stream_soul_floats(), &souls_);
            if (in.train_tokens != data_.train.size())
                fail_incompatible("checkpoint '" + ckpt.path + "' was trained on " + std::to_string(in.train_tokens) +
                                  " tokens of train.u32, '" + data_.train.path() + "' now holds " +
                                  std::to_string(data_.train.size()) +
                                  "; resume needs the same data (or start afresh in another output directory)");
            if (!in.tokenizer_fingerprint.empty() && in.tokenizer_fingerprint != data_.tokenizer_fp)
                fail_incompatible("checkpoint '" + ckpt.path + "' was trained with another tokenizer (fingerprint " +
                                  in.tokenizer_fingerprint + ", now " + data_.tokenizer_fp + ")");
            warn_option_changes(run_, in.options_json, opt_);
            step_ = in.step;
            data_position_ = in.data_position;
            seed_ = in.seed;
            has_best_ = in.has_best_val_loss;
            best_val_ = in.best_val_loss;
            resumed_ = true;
            result_.last_checkpoint = ckpt.path;
            run_.say("resumed from '" + ckpt.path + "' at step " + std::to_string(step_));
        } else {
            run_.say("no checkpoint in '" + ckpt_dir_ + "'; starting a new run");
        }
    } else if (!list_checkpoints(ckpt_dir_).empty()) {
        fail_argument("'" + ckpt_dir_ + "' already holds checkpoints; pass --resume to continue that run, or choose "
                      "another output directory");
    }
    if (!resumed_) params_.init_random(seed_, opt_.ttt_decay_bias, opt_.ttt_recall_init);
    result_.resumed = resumed_;
    last_saved_step_ = resumed_ ? step_ : -1;
    opt_.seed = seed_;
    options_json_ = train_options_to_json(opt_);
}

// A resumed run drops the lines logged after its checkpoint; a new run starts a new log.
void TrainingRun::open_log() {
    if (resumed_)
        truncate_log(log_path_, step_);
    else
        write_file_atomic(log_path_, std::string());
    log_.reset(std::fopen(log_path_.c_str(), "ab"));
    if (!log_) fail_io("cannot open the training log '" + log_path_ + "': " + std::strerror(errno));
}

void TrainingRun::prepare_batches() {
    const int32_t B = opt_.batch_size, T = opt_.context_len;
    sampler_ = std::make_unique<WindowSampler>(&data_.train, B, T, seed_, opt_.stream_windows);
    sampler_->set_position(data_position_);
    if (opt_.stream_windows > 1) {
        if (!sampler_->stream_starts() && !has_souls_)
            fail_format("the checkpoint stopped inside its streams (--stream-windows " +
                        std::to_string(opt_.stream_windows) + ") but holds no carried souls; it cannot be resumed");
        souls_.resize(stream_soul_floats());
        souls_next_.resize(stream_soul_floats());
    }
    ws_ = make_workspace(data_.config, B, T);
    inputs_.resize(size_t(B) * T);
    targets_.resize(size_t(B) * T);
    grads_.resize(params_.values.size());
    // Validation windows, fixed for the whole run.
    if (data_.have_val) {
        std::vector<size_t> starts = eval_window_starts(data_.val.size(), T, size_t(opt_.eval_batches) * size_t(B));
        val_batches_ = starts.size() / size_t(B);
        val_inputs_.resize(starts.size() * size_t(T));
        val_targets_.resize(starts.size() * size_t(T));
        fill_windows(data_.val, starts, T, val_inputs_.data(), val_targets_.data());
    }
    // The float-weights ablation is the relaxed forward with every scale frozen at 1: the effective weight is the
    // latent W itself in both bitlinear_scale modes, and its gradient is exact.
    if (opt_.float_weights) {
        forward_options_.relaxed = true;
        forward_options_.frozen_scales.assign(size_t(data_.config.num_layers) * 5, 1.0);  // 5 BitLinears per layer
    }
}

double TrainingRun::validation_loss() {
    const int32_t B = opt_.batch_size, T = opt_.context_len;
    double sum = 0.0;
    for (size_t b = 0; b < val_batches_; ++b) {
        Batch batch{B, T, val_inputs_.data() + b * size_t(B) * T, val_targets_.data() + b * size_t(B) * T};
        sum += train_forward_backward(params_, batch, nullptr, pool_, *ws_, forward_options_);
    }
    return sum / double(val_batches_);
}

// The mean loss of one update's batches; grads_ receives their mean gradient.
double TrainingRun::accumulate_gradients() {
    std::fill(grads_.begin(), grads_.end(), 0.0f);
    double loss = 0.0;
    for (int32_t a = 0; a < opt_.accum; ++a) {
        Batch batch{opt_.batch_size, opt_.context_len, inputs_.data(), targets_.data()};
        if (opt_.stream_windows > 1) {  // decided before next() moves the sampler on
            batch.souls_in = sampler_->stream_starts() ? nullptr : souls_.data();
            batch.souls_out = souls_next_.data();
        }
        sampler_->next(inputs_.data(), targets_.data());
        loss += train_forward_backward(params_, batch, grads_.data(), pool_, *ws_, forward_options_);
        if (opt_.stream_windows > 1) souls_.swap(souls_next_);
    }
    if (opt_.accum > 1) {
        loss /= double(opt_.accum);
        const float inv = 1.0f / float(opt_.accum);
        for (float& g : grads_) g *= inv;
    }
    return loss;
}

void TrainingRun::log_step(const TrainProgress& p) {
    std::string line = "{\"step\":" + std::to_string(p.step) + ",\"loss\":" + json_number(p.loss) +
                       ",\"lr\":" + json_number(p.lr) + ",\"grad_norm\":" + json_number(p.grad_norm) +
                       ",\"tokens_per_s\":" + json_number(p.tokens_per_s);
    if (p.has_val_loss) line += ",\"val_loss\":" + json_number(p.val_loss);
    line += "}\n";
    if (std::fwrite(line.data(), 1, line.size(), log_.get()) != line.size() || std::fflush(log_.get()) != 0)
        fail_io("cannot write the training log '" + log_path_ + "': " + std::strerror(errno));
}

CheckpointInfo TrainingRun::checkpoint_info() const {
    CheckpointInfo in;
    in.step = step_;
    in.adamw_t = adamw_.t;
    in.seed = seed_;
    in.data_position = sampler_->position();
    in.has_best_val_loss = has_best_;
    in.best_val_loss = best_val_;
    in.config = data_.config;
    in.options_json = options_json_;
    in.train_tokens = data_.train.size();
    in.tokenizer_fingerprint = data_.tokenizer_fp;
    return in;
}

void TrainingRun::save() {
    const std::string path = checkpoint_file_path(ckpt_dir_, step_);
    save_checkpoint(path, params_, adamw_, checkpoint_info(), carried_souls());
    rotate_checkpoints(ckpt_dir_, opt_.keep_last);
    last_saved_step_ = step_;
    result_.last_checkpoint = path;
}

TrainResult TrainingRun::run(const TrainCallbacks& callbacks) {
    using clock = std::chrono::steady_clock;
    resume_or_start();
    open_log();
    prepare_batches();
    std::error_code ec;
    if (file_exists(stop_file_)) {
        std::filesystem::remove(stop_file_, ec);
        run_.say("note: removed a stale stop file '" + stop_file_ + "' left from before this run");
    }
    SigintGuard sigint(opt_.handle_sigint);
    g_stop_requested.store(0);
    const auto run_start = clock::now();
    const int64_t first_step = step_;
    // A resumed run reports the loss of its checkpoint's update until it makes one of its own (NaN if unknown).
    result_.last_loss = resumed_ ? logged_loss(log_path_, step_) : std::nan("");
    result_.already_finished = resumed_ && step_ >= opt_.steps;
    const double tokens_per_update = double(opt_.batch_size) * double(opt_.context_len) * double(opt_.accum);
    const LrSchedule schedule{opt_.lr, opt_.min_lr, opt_.warmup_steps, opt_.steps};
    bool stop = false;
    while (step_ < opt_.steps) {
        if (g_stop_requested.load() || file_exists(stop_file_)) break;
        const auto t0 = clock::now();
        const double loss = accumulate_gradients();
        const double norm = clip_grad_global_norm(grads_.data(), grads_.size(), opt_.clip);
        if (!std::isfinite(loss) || !std::isfinite(norm))
            throw Error(TTT_ERR_INVALID_STATE,
                        "training diverged at step " + std::to_string(step_ + 1) + ": loss " + fmt(loss, "%g") +
                            ", gradient norm " + fmt(norm, "%g") + "; lower --lr or raise --warmup-steps" +
                            (result_.last_checkpoint.empty() ? std::string()
                                                             : "; last good checkpoint: '" + result_.last_checkpoint + "'"));
        const double lr = schedule.at(step_);
        adamw_.step(params_, grads_.data(), lr, &pool_);
        ++step_;
        result_.last_loss = loss;

        TrainProgress p;
        p.step = step_;
        p.total_steps = opt_.steps;
        p.loss = loss;
        p.lr = lr;
        p.grad_norm = norm;
        const double dt = std::chrono::duration<double>(clock::now() - t0).count();
        p.tokens_per_s = dt > 0.0 ? tokens_per_update / dt : 0.0;
        const double elapsed = std::chrono::duration<double>(clock::now() - run_start).count();
        p.eta_s = elapsed / double(step_ - first_step) * double(opt_.steps - step_);
        if (data_.have_val && val_batches_ > 0 && (step_ % opt_.eval_interval == 0 || step_ == opt_.steps)) {
            p.has_val_loss = true;
            p.val_loss = validation_loss();
            if (!has_best_ || p.val_loss < best_val_) {
                has_best_ = true;
                best_val_ = p.val_loss;
                save_checkpoint(best_checkpoint_path(ckpt_dir_), params_, adamw_, checkpoint_info());
            }
        }
        log_step(p);
        if (callbacks.progress && !callbacks.progress(p)) stop = true;
        if (opt_.save_interval > 0 && step_ % opt_.save_interval == 0) save();
        if (stop) break;
    }
    stopped_ = step_ < opt_.steps;  // a stop asked for at the last update changes nothing
    if (step_ != last_saved_step_) save();
    if (file_exists(stop_file_)) std::filesystem::remove(stop_file_, ec);
    finish();
    return result_;
}

void TrainingRun::finish() {
    if (stopped_)
        run_.say("stopped at step " + std::to_string(step_) + "; checkpoint '" + result_.last_checkpoint +
                 "' (continue with --resume)");
    result_.step = step_;
    result_.stopped = stopped_;
    result_.has_best_val_loss = has_best_;
    result_.best_val_loss = best_val_;
    if (!stopped_ && opt_.export_model && opt_.float_weights)
        run_.say("float-weights run: no model exported (the runtime is ternary); the validation loss is the result");
    if (!stopped_ && opt_.export_model && !opt_.float_weights) {
        const ModelWeights w = weights_from_train_params(params_);
        result_.model_path = opt_.out_dir + "/model.bitt";
        save_model_bitt(result_.model_path, w, data_.tokenizer_json);
        run_.say("wrote '" + result_.model_path + "'");
    }
}

}  // namespace

TrainResult run_training(const TrainOptions& options_in, const TrainCallbacks& callbacks) {
    validate_train_options(options_in);
    TrainOptions opt = options_in;
    Run run(opt, callbacks);
    opt.threads = opt.threads > 0 ? opt.threads : ThreadPool::hardware_threads();
    RunData data = open_run_data(opt, run);
    TrainingRun training(opt, run, data);
    return training.run(callbacks);
}

}  // namespace ttt
