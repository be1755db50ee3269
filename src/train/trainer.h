// The training loop: options, data, AdamW with warm-up + cosine schedule, gradient accumulation and clipping,
// periodic validation, JSONL log, checkpoints (rotation, keep-best, resume), clean stop on Ctrl-C or a stop file,
// and the final export to .bitt v2 with the tokenizer embedded.
//
// Determinism: the run is a function of (options, data, seed, thread count). Resuming from a checkpoint continues
// bit-identically to the run that was never interrupted: the checkpoint holds the parameters, AdamW m, v and t,
// the step, the seed and the sampler position, and nothing else feeds the computation (validation only reads the
// parameters; wall-clock time only reaches the log).
//
// Files: data_dir holds train.u32 (required), val.u32 (optional: without it no validation), tokenizer.json
// (required: vocab size, EOS, and embedded in the exported model) and the *.meta.json sidecars. out_dir receives
// train_log.jsonl, checkpoints/ckpt-<step>.safetensors (keep_last newest), checkpoints/model-best.safetensors (lowest
// validation loss) and model.bitt.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model/config.h"
#include "model/weights.h"
#include "train/train_model.h"

namespace ttt {

struct TrainOptions {
    std::string data_dir;
    std::string out_dir;
    std::string log_path;   // "" = out_dir/train_log.jsonl
    std::string stop_file;  // "" = out_dir/stop_signal; when this file appears: checkpoint, delete it, stop

    // Model (upstream defaults; upstream-spec §6.3). vocab_size 0 = the tokenizer's vocab size.
    int32_t vocab_size = 0;
    int32_t dim = 256;
    int32_t layers = 8;
    int32_t intermediate_dim = 0;  // 0 = 4·dim
    float inner_lr = 0.1f;         // η (upstream's trainer fixes 0.1)
    int32_t ttt_chunk = 1;         // DESIGN §2: the same chunk is used in training and inference
    std::string ttt_kind = "upstream";  // "upstream" or "delta" (docs/memory.md: the layer with associative recall)
    int32_t ttt_heads = 1;         // delta kind: fast-weight heads
    int32_t ttt_dim = 0;           // delta kind: the TTT width d; 0 = dim/4
    float ttt_decay_bias = 4.0f;   // delta kind: initial gate bias of the decay, α = σ(b) at the start (4: 0.982)
    bool ttt_recall_init = false;  // delta kind: start each layer as a previous-token lookup (TrainParams::init_random)
    bool bitlinear_scale = false;
    int32_t act_bits = 0;
    float norm_eps = 1e-5f;

    // Optimisation.
    int32_t context_len = 128;
    int32_t batch_size = 16;
    double lr = 3e-4;
    double min_lr = 1e-5;
    int64_t warmup_steps = 100;
    int64_t steps = 1000;
    int32_t accum = 1;             // micro-batches per update (gradients averaged)
    // Delta kind: consecutive windows each batch row reads with its soul carried from one batch to the next (train/
    // data.h, "Streams"), so the model learns on souls that have read up to stream_windows·context_len tokens.
    // 1 = every window from a fresh soul.
    int32_t stream_windows = 1;
    double clip = 1.0;             // global gradient norm limit; 0 = no clipping
    float weight_decay = 0.01f;
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-8f;
    uint64_t seed = 1;
    int32_t threads = 0;           // 0 = all hardware threads (the same bits for any count: tested)

    // Validation, checkpoints.
    int64_t eval_interval = 100;   // steps between validation losses; 0 = never (also at the last step)
    int32_t eval_batches = 8;      // validation batches of batch_size windows each
    int64_t save_interval = 500;   // steps between checkpoints; 0 = only at the end / on stop
    int32_t keep_last = 3;         // ckpt-* files kept; 0 = all
    bool resume = false;           // continue from the newest valid checkpoint in out_dir/checkpoints
    bool handle_sigint = true;     // Ctrl-C: finish the current step, checkpoint, stop
    bool export_model = true;      // write out_dir/model.bitt at the end
    // Ablation: every BitLinear multiplies by its latent float weight (no ternarisation, no int8 activation
    // quantisation), to measure what ternary weights cost. Such a model has no .bitt form (the runtime is
    // ternary), so nothing is exported; validation loss is the result.
    bool float_weights = false;
};

// Throws Error(TTT_ERR_INVALID_ARGUMENT) naming the first option out of range (model fields are checked by
// validate_config when the config is built).
void validate_train_options(const TrainOptions& o);

// The model config the options describe (vocab, bos and eos given). Throws Error(TTT_ERR_FORMAT) naming the field
// for impossible values (dim not divisible by 4, …).
ModelConfig model_config_from_options(const TrainOptions& o, int32_t vocab_size, int32_t bos_id, int32_t eos_id);
// Copy a model config's fields into the options.
void apply_model_config(const ModelConfig& c, TrainOptions* o);

// A training config file (`bit-ttt train --config FILE.json`): any options by their JSON names below (dim, layers,
// lr, steps, …) and, so that a model's config.json works as is, the model fields under their config.json names
// (hidden_dim, num_layers, intermediate_size, rms_norm_eps, …; bos/eos ids and arch are ignored: the tokenizer and
// the trainer decide them). An unknown key is TTT_ERR_FORMAT naming it: a typo must not train another model.
void apply_train_config_file(const std::string& json, const std::string& what, TrainOptions* o);

// Options ⇄ JSON (the checkpoint keeps them; `train --resume` takes its defaults from them). Paths are not stored.
std::string train_options_to_json(const TrainOptions& o);
// Fields present in json override *o; unknown fields are ignored. Throws Error(TTT_ERR_FORMAT) on bad JSON.
// All or nothing: on an error (TTT_ERR_FORMAT naming `what` and the key) *o is unchanged.
void train_options_from_json(const std::string& json, TrainOptions* o, const std::string& what = "training options JSON");

struct TrainProgress {
    int64_t step = 0;          // updates completed
    int64_t total_steps = 0;
    double loss = 0.0;         // mean training loss of this update
    double lr = 0.0;           // learning rate used by this update
    double grad_norm = 0.0;    // global gradient norm before clipping
    double tokens_per_s = 0.0; // training tokens per second of this update
    double eta_s = 0.0;        // estimated seconds to the end
    bool has_val_loss = false; // validation ran after this update
    double val_loss = 0.0;
};

struct TrainCallbacks {
    // After every update. Return false to stop (a checkpoint is written first).
    std::function<bool(const TrainProgress&)> progress;
    // Informational lines (resumed from …, checkpoint written, warnings). Empty = the library log (INFO).
    std::function<void(const std::string&)> message;
};

struct TrainResult {
    int64_t step = 0;             // updates completed
    bool stopped = false;         // stopped early (Ctrl-C, stop file, callback)
    bool resumed = false;
    double last_loss = 0.0;       // of the last update (NaN when no update was made or logged)
    bool already_finished = false;  // resumed a run that had already made all its steps: nothing was trained
    bool has_best_val_loss = false;
    double best_val_loss = 0.0;
    std::string last_checkpoint;  // path of the checkpoint written last ("" if none)
    std::string model_path;       // the exported .bitt ("" if none)
};

// Run (or resume) a training run. Errors are ttt::Error: bad options or config (INVALID_ARGUMENT / FORMAT),
// bad data (FORMAT / IO), a checkpoint of another config or other data (INCOMPATIBLE), divergence (INVALID_STATE:
// the loss or gradient became NaN/Inf; the last checkpoint is kept).
TrainResult run_training(const TrainOptions& options, const TrainCallbacks& callbacks = {});

// Ask a running run_training to stop after the current update (safe from any thread and from signal handlers).
void request_training_stop();

// The inference weights of trained parameters: BitLinear latents ternarised (TernaryMatrix::from_latent), the rest
// copied. Throws Error(TTT_ERR_INVALID_STATE) if a tensor is missing.
ModelWeights weights_from_train_params(const TrainParams& params);

}  // namespace ttt
