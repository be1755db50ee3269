// Training checkpoints: one safetensors container per checkpoint, written crash-safely.
//
// Layout (format "bit_ttt.checkpoint", format_version 1):
//   tensors, all F32 little-endian, the data region in this order (each group is one arena, written as is):
//     <name>            every parameter of TrainParams::tensors in arena order, upstream names and shapes
//     adamw.m.<name>    AdamW first moments, same shapes
//     adamw.v.<name>    AdamW second moments
//     stream.souls      only in stream training (TrainOptions::stream_windows > 1) when the sampler stopped inside
//                       its streams: the carried delta souls, [L, B, soul floats] (Batch::souls_in), after the arenas
//   __metadata__ (strings):
//     format, format_version, min_reader_version   "bit_ttt.checkpoint", "1", "1"
//     step            completed optimiser updates (the run continues with update number `step`)
//     adamw_t         AdamW's update counter t (bias corrections)
//     seed            the run's seed (parameter initialisation and the window sampler)
//     data_position   batches the window sampler has drawn; with `seed` the sampler's complete RNG state
//     sampler         "random-windows-v1" (train/data.h)
//     best_val_loss   lowest validation loss so far ("none" before the first validation)
//     config          model config JSON (load/config_json.h)
//     train_options   training options JSON (train/trainer.h), adamw: {beta1, beta2, eps, weight_decay} JSON
//     train_tokens, tokenizer_fingerprint           identity of the training data (train.u32 size, tokenizer hash)
//     n_params        parameter count
//     data_crc32c     CRC-32C of the whole data region (8 hex digits)
//     meta_crc32c     CRC-32C of the header: every other metadata entry ("key=value\n", keys in order) followed by
//                     every tensor's "name|dtype|shape|begin|end\n" in data order
// The header is space-padded so that the data region starts at a multiple of 64 bytes.
//
// Writing: <path>.tmp.<pid> (exclusive create), fsync, rename, fsync the directory — a failed save leaves an existing
// file at `path` untouched. Reading checks the safetensors structure, the format name and version, both CRCs, then
// (on restore) the config and every tensor's name, dtype and shape. Files are rotated as ckpt-<step>.safetensors
// (keep the last K) plus model-best.safetensors (the parameters with the lowest validation loss).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "train/adamw.h"
#include "train/train_model.h"

namespace ttt {

constexpr int32_t kCheckpointFormatVersion = 1;

struct CheckpointInfo {
    int64_t step = 0;
    int64_t adamw_t = 0;
    uint64_t seed = 0;
    uint64_t data_position = 0;
    double best_val_loss = 0.0;  // valid when has_best_val_loss
    bool has_best_val_loss = false;
    ModelConfig config;
    std::string options_json;
    std::string adamw_json;
    uint64_t train_tokens = 0;
    std::string tokenizer_fingerprint;
    int32_t format_version = kCheckpointFormatVersion;
};

// A checkpoint read from disk and verified (structure, format, CRCs). Owns the bytes the view points into.
struct CheckpointFile {
    std::string path;
    CheckpointInfo info;
    std::vector<uint8_t> bytes;
    SafetensorsView view;
};

// Save params and the optimiser state with `info` (its config must be params.config). Crash-safe; throws
// Error(TTT_ERR_IO) on failure, leaving any existing file at `path` as it was.
// stream_souls, if not null and not empty, is written as the tensor stream.souls [L, B, n / (L·B)].
void save_checkpoint(const std::string& path, const TrainParams& params, const AdamW& adamw,
                     const CheckpointInfo& info, const std::vector<float>* stream_souls = nullptr);

// Read and verify. Errors: TTT_ERR_IO (unreadable), TTT_ERR_FORMAT (not a checkpoint, truncated, corrupted:
// the message names the file and the check that failed), TTT_ERR_UNSUPPORTED (written by a newer version).
CheckpointFile read_checkpoint(const std::string& path);

// Copy a verified checkpoint into params (already laid out by TrainParams::create for the expected config) and
// adamw (m, v, t). A checkpoint of another config throws Error(TTT_ERR_INCOMPATIBLE) naming the differing
// fields; a tensor missing or of another shape throws TTT_ERR_INCOMPATIBLE too. Nothing is changed on failure.
void restore_checkpoint(const CheckpointFile& ckpt, TrainParams& params, AdamW& adamw);

// The carried souls of a stream-training checkpoint into *out (resized to `expected` floats): false when the
// checkpoint has none; TTT_ERR_INCOMPATIBLE when their size is not `expected`, TTT_ERR_FORMAT for a non-finite value.
bool restore_stream_souls(const CheckpointFile& ckpt, size_t expected, std::vector<float>* out);

// "field: a vs b; ..." for the fields that differ ("" when the configs are the same).
std::string describe_config_difference(const ModelConfig& a, const ModelConfig& b);

// Files in a checkpoint directory.
std::string checkpoint_file_path(const std::string& dir, int64_t step);  // dir/ckpt-00000500.safetensors
std::string best_checkpoint_path(const std::string& dir);                // dir/model-best.safetensors
struct CheckpointEntry {
    int64_t step;
    std::string path;
};
std::vector<CheckpointEntry> list_checkpoints(const std::string& dir);  // ckpt-*.safetensors, ascending step
// Delete the oldest ckpt-* files so that at most keep_last remain (keep_last <= 0: keep all).
void rotate_checkpoints(const std::string& dir, int32_t keep_last);

// The newest ckpt-* in dir that validates. Checkpoints that fail to read are skipped, each with a line in
// *skipped ("path: reason"). Returns false when dir holds no checkpoint at all; throws Error(TTT_ERR_FORMAT)
// listing every reason when there are checkpoints but none validates.
bool find_resume_checkpoint(const std::string& dir, CheckpointFile* out, std::vector<std::string>* skipped);

}  // namespace ttt
