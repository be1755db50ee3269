// bit-ttt data  --tokenizer T --input FILE... --out DIR [--val-fraction F]
// bit-ttt train --data DIR --out DIR [--config FILE.json] [options] [--resume]
// bit-ttt eval  -m MODEL --data FILE.u32 [--context-len N] [--limit N] [--threads N]
#include "cmd_train.h"

#include <cerrno>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "common/error.h"
#include "load/config_json.h"
#include "io/file.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/trainer.h"

namespace {

const char* const kDataUsage =
    "usage: bit-ttt data --tokenizer FILE --input FILE... --out DIR [--val-fraction F]\n"
    "  Tokenize text files into DIR/train.u32 and DIR/val.u32 (u32 little-endian ids, EOS after each file) with\n"
    "  .meta.json sidecars (token and text byte counts), and copy the tokenizer to DIR/tokenizer.json.\n"
    "  --tokenizer FILE    a Hugging Face tokenizer.json with an EOS token (see `bit-ttt vocab`)\n"
    "  --input FILE...     text files, any size; each file is one document\n"
    "  --out DIR           output directory (created if needed)\n"
    "  --val-fraction F    the last F of each file (cut at a line start) is held out for validation (default 0.05;\n"
    "                      0 = no validation data)\n";

const char* const kTrainUsage =
    "usage: bit-ttt train --data DIR --out DIR [options]\n"
    "  Train a BitLlama model on DIR/train.u32 (validation on DIR/val.u32, tokenizer DIR/tokenizer.json). Writes\n"
    "  OUT/train_log.jsonl, OUT/checkpoints/ and, at the end, OUT/model.bitt. Ctrl-C or creating OUT/stop_signal\n"
    "  saves a checkpoint and stops; --resume continues bit-identically.\n"
    "model:\n"
    "  --config FILE.json    options by name ({\"dim\": 256, \"lr\": 3e-4, \"steps\": 2000, ...}; a model's\n"
    "                        config.json works too); the flags below override it\n"
    "  --dim N (256)  --layers N (8)  --intermediate-dim N (4*dim)  --inner-lr X (0.1)  --ttt-chunk N (1)\n"
    "  --ttt-kind upstream|delta (upstream)  --ttt-heads N (1; delta only)  --ttt-dim N (dim/4; delta only)\n"
    "  --ttt-decay-bias X (4; delta only: the decay starts at sigmoid(X), 4: 0.982, 7: 0.999)\n"
    "  --ttt-recall-init 0|1 (0; delta only: start each layer as a previous-token lookup, query = key)\n"
    "  --bitlinear-scale 0|1 (0)  --act-bits 0|8 (0)\n"
    "optimisation:\n"
    "  --context-len N (128)  --batch-size N (16)  --steps N (1000)  --lr X (3e-4)  --min-lr X (1e-5)\n"
    "  --warmup-steps N (100)  --accum N (1)  --clip X (1.0, 0 = off)  --weight-decay X (0.01)\n"
    "  --stream-windows N (1; delta only: each batch row reads N consecutive windows, its soul carried over)\n"
    "  --beta1 X (0.9)  --beta2 X (0.95)  --seed N (1)  --threads N (0 = all; the result does not depend on it)\n"
    "checkpoints and validation:\n"
    "  --save-interval N (500)  --keep-last N (3, 0 = all)  --eval-interval N (100, 0 = off)  --eval-batches N (8)\n"
    "  --resume              continue from the newest valid checkpoint in OUT/checkpoints (its options are the\n"
    "                        defaults; flags given override them)\n"
    "  --float-weights       ablation: train with float BitLinear weights (no ternarisation, no activation\n"
    "                        quantisation); nothing is exported, the validation loss is the result\n"
    "  --quiet               no progress bar\n";

const char* const kEvalUsage =
    "usage: bit-ttt eval -m MODEL --data FILE.u32 [--context-len N] [--limit N] [--threads N]\n"
    "  Mean loss, perplexity and bits per byte of MODEL on a token file (windows of N tokens, fresh soul each).\n"
    "  Bits per byte use the text size from FILE.meta.json when present, else the tokens' byte lengths.\n"
    "  --context-len N (128)  --limit N (target tokens, 0 = all)  --threads N (0 = all cores;\n"
    "  the result does not depend on it)\n"
    "  --activations model|int8  the rows the ternary products read: as the model was trained, or int8 for every\n"
    "                        model (a float model runs faster, its loss moves by the rounding; default: model, or\n"
    "                        what the environment variable TTT_ACTIVATIONS says)\n"
    "  A token file whose .meta.json names another tokenizer than the model's is refused (its ids would mean other\n"
    "  text); --any-tokenizer scores it anyway, with a warning.\n";

bool parse_i64(const std::string& s, long long lo, long long hi, long long* out) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno || end == s.c_str() || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool parse_f64(const std::string& s, double* out) {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (errno || end == s.c_str() || *end != '\0') return false;
    *out = v;  // NaN/Inf pass through; the option checks refuse them with a message naming the option
    return true;
}

std::string human_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    char b[32];
    long long t = static_cast<long long>(s + 0.5);
    if (t >= 3600)
        std::snprintf(b, sizeof b, "%lldh%02lldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        std::snprintf(b, sizeof b, "%lldm%02llds", t / 60, t % 60);
    else
        std::snprintf(b, sizeof b, "%llds", t);
    return b;
}

std::string human_rate(double r) {
    char b[32];
    if (r >= 1e6)
        std::snprintf(b, sizeof b, "%.2fM", r / 1e6);
    else if (r >= 1e3)
        std::snprintf(b, sizeof b, "%.1fk", r / 1e3);
    else
        std::snprintf(b, sizeof b, "%.0f", r);
    return b;
}

}  // namespace

int cmd_data(int argc, char** argv) {
    std::string tokenizer_path, out;
    std::vector<std::string> inputs;
    double val_fraction = 0.05;
    bool in_inputs = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kDataUsage, stdout);
            return 0;
        }
        if (a == "--input") {
            in_inputs = true;
            continue;
        }
        if (a == "--tokenizer" || a == "--out" || a == "--val-fraction") {
            in_inputs = false;
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bit-ttt data: %s needs a value\n%s", a.c_str(), kDataUsage);
                return 2;
            }
            std::string v = argv[++i];
            if (a == "--tokenizer") {
                tokenizer_path = v;
            } else if (a == "--out") {
                out = v;
            } else if (!parse_f64(v, &val_fraction)) {
                std::fprintf(stderr, "bit-ttt data: --val-fraction: not a number: %s\n", v.c_str());
                return 2;
            }
            continue;
        }
        if (in_inputs && a.rfind("--", 0) != 0) {
            inputs.push_back(a);
            continue;
        }
        std::fprintf(stderr, "bit-ttt data: unexpected argument: %s\n%s", a.c_str(), kDataUsage);
        return 2;
    }
    if (tokenizer_path.empty() || inputs.empty() || out.empty()) {
        std::fprintf(stderr, "bit-ttt data: --tokenizer, --input and --out are required\n%s", kDataUsage);
        return 2;
    }
    try {
        std::vector<uint8_t> bytes = ttt::read_file(tokenizer_path);
        auto tok = ttt::Tokenizer::from_json(std::string(bytes.begin(), bytes.end()));
        ttt::PrepareDataOptions po;
        po.val_fraction = val_fraction;
        int last_pct = -1;
        const bool tty = ::isatty(2);
        po.progress = [&](uint64_t done, uint64_t total) {
            int pct = total ? int(100.0 * double(done) / double(total)) : 100;
            if (tty && pct != last_pct) std::fprintf(stderr, "\rtokenizing %3d%%", pct);
            last_pct = pct;
        };
        ttt::PrepareDataResult r = ttt::prepare_data(*tok, inputs, out, po);
        if (tty) std::fprintf(stderr, "\n");
        std::fprintf(stderr, "wrote %s/train.u32: %llu tokens from %llu bytes (%.3f bytes/token)\n", out.c_str(),
                     (unsigned long long)r.train.tokens, (unsigned long long)r.train.bytes,
                     r.train.tokens ? double(r.train.bytes) / double(r.train.tokens) : 0.0);
        if (r.val.tokens)
            std::fprintf(stderr, "wrote %s/val.u32:   %llu tokens from %llu bytes\n", out.c_str(),
                         (unsigned long long)r.val.tokens, (unsigned long long)r.val.bytes);
        else
            std::fprintf(stderr, "no validation data (val fraction %g)\n", val_fraction);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nbit-ttt data: %s\n", e.what());
        return 1;
    }
}

namespace {

struct TrainFlags {
    std::map<std::string, std::string> values;  // "--dim" -> "256"; "--float-weights" -> "1"
    bool resume = false, quiet = false;
};

// Collect the flags first: --config and the resumed checkpoint give defaults that explicit flags override.
// Returns -1 to go on, or the exit status (help printed, or a usage error).
int collect_train_flags(int argc, char** argv, TrainFlags* f) {
    static const char* const kValueFlags[] = {
        "--data", "--out", "--config", "--dim", "--layers", "--intermediate-dim", "--inner-lr", "--ttt-chunk",
        "--ttt-kind", "--ttt-heads", "--ttt-dim", "--ttt-decay-bias", "--ttt-recall-init",
        "--bitlinear-scale", "--act-bits", "--context-len", "--batch-size", "--steps", "--lr", "--min-lr",
        "--warmup-steps", "--accum", "--stream-windows", "--clip", "--weight-decay", "--beta1", "--beta2", "--seed",
        "--threads", "--save-interval", "--keep-last", "--eval-interval", "--eval-batches"};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kTrainUsage, stdout);
            return 0;
        }
        if (a == "--resume") {
            f->resume = true;
            continue;
        }
        if (a == "--float-weights") {
            f->values[a] = "1";
            continue;
        }
        if (a == "--quiet") {
            f->quiet = true;
            continue;
        }
        bool known = false;
        for (const char* k : kValueFlags) known = known || a == k;
        if (!known) {
            std::fprintf(stderr, "bit-ttt train: unexpected argument: %s\n%s", a.c_str(), kTrainUsage);
            return 2;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bit-ttt train: %s needs a value\n", a.c_str());
            return 2;
        }
        f->values[a] = argv[++i];
    }
    if (!f->values.count("--data") || !f->values.count("--out")) {
        std::fprintf(stderr, "bit-ttt train: --data and --out are required\n%s", kTrainUsage);
        return 2;
    }
    return -1;
}

// The options of a run: defaults, then the resumed checkpoint's, then --config, then the explicit flags.
// Returns "" or the first bad flag's message.
std::string train_options_from_flags(TrainFlags& f, ttt::TrainOptions* opt_out) {
    ttt::TrainOptions& opt = *opt_out;
    std::map<std::string, std::string>& flags = f.values;
    opt.data_dir = flags["--data"];
    opt.out_dir = flags["--out"];
    opt.resume = f.resume;
    if (f.resume) {
        ttt::CheckpointFile ck;
        std::vector<std::string> skipped;
        if (ttt::find_resume_checkpoint(opt.out_dir + "/checkpoints", &ck, &skipped)) {
            ttt::train_options_from_json(ck.info.options_json, &opt);
            ttt::apply_model_config(ck.info.config, &opt);
        }
    }
    if (flags.count("--config")) {
        std::vector<uint8_t> bytes = ttt::read_file(flags["--config"]);
        ttt::apply_train_config_file(std::string(bytes.begin(), bytes.end()), flags["--config"], &opt);
    }
    std::string bad;
    auto int_flag = [&](const char* name, long long lo, long long hi, auto* dst) {
        auto it = flags.find(name);
        if (it == flags.end()) return;
        long long v;
        if (!parse_i64(it->second, lo, hi, &v)) {
            if (bad.empty()) bad = std::string(name) + ": not an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ": " + it->second;
            return;
        }
        *dst = static_cast<std::remove_reference_t<decltype(*dst)>>(v);
    };
    auto real_flag = [&](const char* name, auto* dst) {
        auto it = flags.find(name);
        if (it == flags.end()) return;
        double v;
        if (!parse_f64(it->second, &v)) {
            if (bad.empty()) bad = std::string(name) + ": not a number: " + it->second;
            return;
        }
        using T = std::remove_reference_t<decltype(*dst)>;
        if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<T>::max())) {
            if (bad.empty()) bad = std::string(name) + ": " + it->second + " is outside the float range";
            return;
        }
        *dst = static_cast<T>(v);
    };
    const long long I32 = 2147483647LL;
    int_flag("--dim", -I32, I32, &opt.dim);
    int_flag("--layers", -I32, I32, &opt.layers);
    int_flag("--intermediate-dim", -I32, I32, &opt.intermediate_dim);
    real_flag("--inner-lr", &opt.inner_lr);
    int_flag("--ttt-chunk", -I32, I32, &opt.ttt_chunk);
    if (auto it = flags.find("--ttt-kind"); it != flags.end()) opt.ttt_kind = it->second;
    int_flag("--ttt-heads", -I32, I32, &opt.ttt_heads);
    int_flag("--ttt-dim", -I32, I32, &opt.ttt_dim);
    real_flag("--ttt-decay-bias", &opt.ttt_decay_bias);
    long long recall_init = opt.ttt_recall_init ? 1 : 0;
    int_flag("--ttt-recall-init", 0, 1, &recall_init);
    opt.ttt_recall_init = recall_init != 0;
    long long scale = opt.bitlinear_scale ? 1 : 0;
    int_flag("--bitlinear-scale", 0, 1, &scale);
    opt.bitlinear_scale = scale != 0;
    int_flag("--act-bits", -I32, I32, &opt.act_bits);
    int_flag("--context-len", -I32, I32, &opt.context_len);
    int_flag("--stream-windows", -I32, I32, &opt.stream_windows);
    int_flag("--batch-size", -I32, I32, &opt.batch_size);
    int_flag("--steps", -(1LL << 62), 1LL << 62, &opt.steps);
    real_flag("--lr", &opt.lr);
    real_flag("--min-lr", &opt.min_lr);
    int_flag("--warmup-steps", -(1LL << 62), 1LL << 62, &opt.warmup_steps);
    int_flag("--accum", -I32, I32, &opt.accum);
    real_flag("--clip", &opt.clip);
    real_flag("--weight-decay", &opt.weight_decay);
    real_flag("--beta1", &opt.beta1);
    real_flag("--beta2", &opt.beta2);
    {
        auto it = flags.find("--seed");
        if (it != flags.end()) {
            char* end = nullptr;
            errno = 0;
            unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
            if (errno || end == it->second.c_str() || *end || it->second[0] == '-')
                bad = "--seed: not a non-negative integer: " + it->second;
            opt.seed = v;
        }
    }
    int_flag("--threads", 0, 1024, &opt.threads);
    int_flag("--save-interval", -(1LL << 62), 1LL << 62, &opt.save_interval);
    int_flag("--keep-last", -I32, I32, &opt.keep_last);
    int_flag("--eval-interval", -(1LL << 62), 1LL << 62, &opt.eval_interval);
    int_flag("--eval-batches", -I32, I32, &opt.eval_batches);
    if (flags.count("--float-weights")) opt.float_weights = true;
    return bad;
}

// Messages and the progress bar on stderr (a redrawn line on a terminal, a line every 50 steps otherwise).
ttt::TrainCallbacks progress_printer(bool quiet, bool* bar_shown) {
    const bool tty = ::isatty(2) && !quiet;
    ttt::TrainCallbacks cb;
    cb.message = [bar_shown](const std::string& m) {
        std::fprintf(stderr, "%s%s\n", *bar_shown ? "\n" : "", m.c_str());
        *bar_shown = false;
    };
    cb.progress = [bar_shown, quiet, tty](const ttt::TrainProgress& p) {
        if (p.has_val_loss) {
            std::fprintf(stderr, "%sstep %lld: val loss %.4f (ppl %.2f)\n", *bar_shown ? "\n" : "", (long long)p.step,
                         p.val_loss, std::exp(p.val_loss));
            *bar_shown = false;
        }
        if (quiet) return true;
        const int width = 24;
        const int filled = p.total_steps ? int(double(width) * double(p.step) / double(p.total_steps)) : width;
        std::string bar(size_t(filled), '=');
        bar.resize(size_t(width), ' ');
        char line[256];
        std::snprintf(line, sizeof line, "[%s] %lld/%lld loss %.4f lr %.2e |g| %.2f %s tok/s ETA %s", bar.c_str(),
                      (long long)p.step, (long long)p.total_steps, p.loss, p.lr, p.grad_norm,
                      human_rate(p.tokens_per_s).c_str(), human_duration(p.eta_s).c_str());
        if (tty) {
            std::fprintf(stderr, "\r%s\033[K", line);
            *bar_shown = true;
        } else if (p.step % 50 == 0 || p.step == p.total_steps) {
            std::fprintf(stderr, "%s\n", line);
        }
        return true;
    };
    return cb;
}

}  // namespace

int cmd_train(int argc, char** argv) {
    TrainFlags flags;
    const int rc = collect_train_flags(argc, argv, &flags);
    if (rc >= 0) return rc;
    try {
        ttt::TrainOptions opt;
        const std::string bad = train_options_from_flags(flags, &opt);
        if (!bad.empty()) {
            std::fprintf(stderr, "bit-ttt train: %s\n", bad.c_str());
            return 2;
        }
        bool bar_shown = false;
        ttt::TrainResult r = ttt::run_training(opt, progress_printer(flags.quiet, &bar_shown));
        if (bar_shown) std::fprintf(stderr, "\n");
        if (r.stopped) {
            std::fprintf(stderr, "stopped at step %lld; resume with: bit-ttt train --data %s --out %s --resume\n",
                         (long long)r.step, opt.data_dir.c_str(), opt.out_dir.c_str());
            return 0;
        }
        if (r.already_finished)
            std::fprintf(stderr, "the run had already finished: %lld of %lld steps; nothing to train (the model was "
                         "exported again)\n", (long long)r.step, (long long)opt.steps);
        if (std::isfinite(r.last_loss))
            std::fprintf(stderr, "done: %lld steps, last loss %.4f", (long long)r.step, r.last_loss);
        else
            std::fprintf(stderr, "done: %lld steps, last loss unknown (not in the training log)", (long long)r.step);
        if (r.has_best_val_loss) std::fprintf(stderr, ", best val loss %.4f", r.best_val_loss);
        std::fprintf(stderr, "\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nbit-ttt train: %s\n", e.what());
        return 1;
    }
}

int cmd_eval(int argc, char** argv) {
    std::string model, data;
    ttt::EvalOptions opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kEvalUsage, stdout);
            return 0;
        }
        if (a == "--any-tokenizer") {
            opt.any_tokenizer = true;
            continue;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bit-ttt eval: unexpected argument or missing value: %s\n%s", a.c_str(), kEvalUsage);
            return 2;
        }
        std::string v = argv[++i];
        long long n = 0;
        if (a == "-m" || a == "--model") {
            model = v;
        } else if (a == "--data" || a == "-d") {
            data = v;
        } else if (a == "--context-len" && parse_i64(v, 1, 1 << 20, &n)) {
            opt.context_len = int32_t(n);
        } else if (a == "--limit" && parse_i64(v, 0, 1LL << 62, &n)) {
            opt.max_tokens = uint64_t(n);
        } else if (a == "--threads" && parse_i64(v, 0, 1024, &n)) {
            opt.threads = int32_t(n);
        } else if (a == "--activations" && (v == "model" || v == "int8")) {
            opt.int8_activations = v == "int8";
        } else {
            std::fprintf(stderr, "bit-ttt eval: bad argument: %s %s\n%s", a.c_str(), v.c_str(), kEvalUsage);
            return 2;
        }
    }
    if (model.empty() || data.empty()) {
        std::fprintf(stderr, "bit-ttt eval: -m MODEL and --data FILE are required\n%s", kEvalUsage);
        return 2;
    }
    try {
        const bool tty = ::isatty(2);
        opt.progress = [&](uint64_t done, uint64_t total) {
            if (tty) std::fprintf(stderr, "\revaluating %llu/%llu tokens", (unsigned long long)done, (unsigned long long)total);
        };
        ttt::EvalResult r = ttt::evaluate_model(model, data, opt);
        if (tty) std::fprintf(stderr, "\n");
        std::printf("tokens %llu (windows %llu of up to %d)\n", (unsigned long long)r.targets,
                    (unsigned long long)r.windows, opt.context_len);
        std::printf("loss %.6f\nperplexity %.4f\n", r.mean_loss, r.perplexity);
        if (r.bytes > 0)
            std::printf("bits_per_byte %.6f (%.0f bytes, from %s)\n", r.bits_per_byte, r.bytes,
                        r.bytes_source == "meta" ? "the .meta.json sidecar" : "token byte lengths");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nbit-ttt eval: %s\n", e.what());
        return 1;
    }
}
