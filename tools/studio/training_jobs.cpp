#include "training_jobs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

#include "common/error.h"
#include "http_error.h"
#include "load/bitt_model.h"
#include "io/file.h"
#include "json_body.h"
#include "tokenizer/tokenizer.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/data.h"

namespace studio {

namespace {

double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string read_text(const std::string& path) {
    std::vector<uint8_t> b = ttt::read_file(path);
    return std::string(b.begin(), b.end());
}

}  // namespace

TrainingJobs::~TrainingJobs() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void TrainingJobs::begin(const std::string& kind, const std::string& description) {
    // Called with mu_ held.
    if (running_) throw conflict("a " + kind_ + " job is running: wait for it or stop it");
    if (thread_.joinable()) thread_.join();  // the previous job has finished (running_ is false)
    running_ = true;
    stop_ = false;
    kind_ = kind;
    state_ = "running";
    description_ = description;
    message_.clear();
    result_path_.clear();
    progress_ = eta_s_ = tokens_per_s_ = lr_ = 0;
    step_ = total_ = 0;
    started_ = now_s();
    elapsed_ = 0;
    points_.clear();
}

void TrainingJobs::finish(const std::string& state, const std::string& message, const std::string& result_path) {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    state_ = state;
    message_ = message;
    result_path_ = result_path;
    elapsed_ = now_s() - started_;
    if (state == "done") progress_ = 1;
}

void TrainingJobs::start_vocab(const std::vector<std::string>& inputs, int vocab_size, const std::string& out) {
    std::lock_guard<std::mutex> lock(mu_);
    begin("vocab", "tokenizer of " + std::to_string(vocab_size) + " tokens -> " + out);
    thread_ = std::thread([this, inputs, vocab_size, out] {
        try {
            // The same as `bit-ttt vocab` (cmd_tokenizer.cpp): byte-level BPE with <|endoftext|> as EOS.
            std::string json = ttt::train_bpe(inputs, vocab_size, 2, {"<|endoftext|>"}, [this](double p) {
                std::lock_guard<std::mutex> l(mu_);
                progress_ = p;
            });
            auto tok = ttt::Tokenizer::from_json(json);  // what we write must load
            ttt::write_file_atomic(out, std::vector<uint8_t>(json.begin(), json.end()));
            finish("done", "wrote " + out + " (" + std::to_string(tok->vocab_size()) + " tokens)", out);
        } catch (const std::exception& e) {
            finish("failed", e.what());
        }
    });
}

void TrainingJobs::start_data(const std::string& tokenizer, const std::vector<std::string>& inputs,
                              const std::string& out, double val_fraction) {
    std::lock_guard<std::mutex> lock(mu_);
    begin("data", "tokenize " + std::to_string(inputs.size()) + " file(s) -> " + out);
    thread_ = std::thread([this, tokenizer, inputs, out, val_fraction] {
        try {
            auto tok = ttt::Tokenizer::from_json(read_text(tokenizer));
            ttt::PrepareDataOptions po;
            po.val_fraction = val_fraction;
            po.progress = [this](uint64_t done, uint64_t total) {
                std::lock_guard<std::mutex> l(mu_);
                progress_ = total ? double(done) / double(total) : 1.0;
            };
            ttt::PrepareDataResult r = ttt::prepare_data(*tok, inputs, out, po);
            finish("done", "train.u32: " + std::to_string(r.train.tokens) + " tokens, val.u32: " +
                               std::to_string(r.val.tokens) + " tokens", out);
        } catch (const std::exception& e) {
            finish("failed", e.what());
        }
    });
}

void TrainingJobs::start_train(ttt::TrainOptions opt) {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_) throw conflict("a " + kind_ + " job is running: wait for it or stop it");
    try {
        if (opt.resume) {  // as `bit-ttt train --resume`: the checkpoint's options are the defaults
            ttt::CheckpointFile ck;
            std::vector<std::string> skipped;
            if (!ttt::find_resume_checkpoint(opt.out_dir + "/checkpoints", &ck, &skipped))
                throw bad_request("nothing to resume: " + opt.out_dir + "/checkpoints holds no checkpoint");
            const int64_t steps = opt.steps;
            const int32_t threads = opt.threads;
            ttt::train_options_from_json(ck.info.options_json, &opt);
            ttt::apply_model_config(ck.info.config, &opt);
            opt.steps = std::max(steps, opt.steps);
            opt.threads = threads;
        }
        ttt::validate_train_options(opt);
    } catch (const ttt::Error& e) {
        throw bad_request(e.what());
    }
    opt.handle_sigint = false;  // the server owns Ctrl-C
    begin("train", (opt.resume ? "resume " : "train ") + opt.out_dir);
    out_dir_ = opt.out_dir;
    data_dir_ = opt.data_dir;
    total_ = opt.steps;
    thread_ = std::thread([this, opt] {
        try {
            ttt::TrainCallbacks cb;
            cb.message = [this](const std::string& m) {
                std::lock_guard<std::mutex> l(mu_);
                message_ = m;
            };
            cb.progress = [this](const ttt::TrainProgress& p) {
                std::lock_guard<std::mutex> l(mu_);
                step_ = p.step;
                total_ = p.total_steps;
                progress_ = p.total_steps ? double(p.step) / double(p.total_steps) : 0;
                eta_s_ = p.eta_s;
                tokens_per_s_ = p.tokens_per_s;
                lr_ = p.lr;
                if (points_.size() < 100000) points_.push_back({p.step, p.loss, p.has_val_loss, p.val_loss});
                return !stop_.load();
            };
            ttt::TrainResult r = ttt::run_training(opt, cb);
            std::string msg = (r.stopped ? "stopped at step " : "done: ") + std::to_string(r.step) + " steps";
            if (r.has_best_val_loss) msg += ", best val loss " + std::to_string(r.best_val_loss);
            finish(r.stopped ? "stopped" : "done", msg, r.model_path);
        } catch (const std::exception& e) {
            finish("failed", e.what());
        }
    });
}

std::string TrainingJobs::export_checkpoint(const std::string& out_dir, const std::string& data_dir) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (running_ && kind_ == "train" && out_dir == out_dir_)
            throw conflict("the run is training into this folder: stop it first");
    }
    try {
        ttt::CheckpointFile ck;
        std::vector<std::string> skipped;
        if (!ttt::find_resume_checkpoint(out_dir + "/checkpoints", &ck, &skipped))
            throw bad_request("no checkpoint in " + out_dir + "/checkpoints");
        ttt::TrainParams params = ttt::TrainParams::create(ck.info.config);
        ttt::AdamW adamw(params, ttt::AdamWOptions{});
        ttt::restore_checkpoint(ck, params, adamw);
        ttt::TrainOptions run;
        ttt::train_options_from_json(ck.info.options_json, &run);
        if (run.float_weights)
            throw bad_request("a float-weights run has no .bitt form (the runtime is ternary)");
        const std::string path = out_dir + "/model-step-" + std::to_string(ck.info.step) + ".bitt";
        ttt::save_model_bitt(path, ttt::weights_from_train_params(params), read_text(data_dir + "/tokenizer.json"));
        return path;
    } catch (const ttt::Error& e) {
        throw HttpError(422, "export", e.what());
    }
}

void TrainingJobs::stop() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) throw HttpError(409, "not_running", "no job is running");
    if (kind_ != "train") throw HttpError(409, "not_stoppable", "a " + kind_ + " job cannot be stopped; it is short");
    stop_ = true;
}

std::string TrainingJobs::status_json(size_t since) {
    std::lock_guard<std::mutex> lock(mu_);
    since = std::min(since, points_.size());
    std::string pts = "[";
    for (size_t i = since; i < points_.size(); ++i) {
        const Point& p = points_[i];
        JsonOut o;
        o.integer("step", p.step).num("loss", p.loss);
        if (p.has_val) o.num("val", p.val);
        pts += (i > since ? "," : "") + o.done();
    }
    pts += "]";
    return JsonOut()
        .str("kind", kind_)
        .str("state", state_)
        .boolean("running", running_)
        .str("description", description_)
        .str("message", message_)
        .str("result", result_path_)
        .num("progress", progress_)
        .integer("step", step_)
        .integer("total_steps", total_)
        .num("eta_s", eta_s_)
        .num("tokens_per_s", tokens_per_s_)
        .num("lr", lr_)
        .num("elapsed_s", running_ ? now_s() - started_ : elapsed_)
        .integer("points_total", static_cast<long long>(points_.size()))
        .integer("since", static_cast<long long>(since))
        .raw("points", pts)
        .done();
}

std::string TrainingJobs::estimate_json(const ttt::TrainOptions& o, int32_t V) {
    // Parameter count of a BitLlama with TTT layers (as `bit-ttt info` reports): embedding + LM head, per layer the
    // MLP (gate, up, down), the TTT projections (down D->d, up d->D) and two norms; the final norm.
    const double D = o.dim, L = o.layers, I = o.intermediate_dim > 0 ? o.intermediate_dim : 4.0 * o.dim, d = D / 4;
    const double params = 2 * V * D + L * (3 * D * I + 2 * D * d + 2 * D) + D;
    // Training keeps latents, gradients and AdamW m and v (4 floats a parameter) and, per token of a batch, the
    // activations of every layer for the backward pass (about 12 D + 3 I floats a layer, plus the d x d TTT state
    // per chunk) and the logits.
    const double tokens = double(o.batch_size) * o.context_len;
    const double acts = tokens * (L * (12 * D + 3 * I + d * d / std::max(1, o.ttt_chunk)) + 2.0 * V);
    const double bytes = 4 * (4 * params + acts);
    return JsonOut()
        .num("params", params)
        .num("param_bytes", 16 * params)
        .num("activation_bytes", 4 * acts)
        .num("total_bytes", bytes)
        .str("note", "rough estimate: parameters, gradients and AdamW moments (16 bytes a parameter) plus activations")
        .done();
}

}  // namespace studio
