// Training data: token files, the batch sampler, and data preparation from text.
//
// Token files (upstream-spec §5.5): `train.u32` / `val.u32`, u32 little-endian token ids, EOS after every
// document. Beside each one a sidecar `train.meta.json` / `val.meta.json`:
//   {"tokens": N, "bytes": B, "documents": K, "tokenizer_fingerprint": "<16 hex>"}
// where B is the number of UTF-8 text bytes the N tokens were made from (EOS tokens stand for no bytes), so that
// bits per byte can be computed from a loss over the tokens.
//
// Sampler: random windows. Batch k (k = 0, 1, … counted over the whole run, including accumulation micro-batches)
// takes, for each of its B rows, a window start s uniform in [0, N − T − 1] drawn from an Rng seeded by
// (seed, k); the row's inputs are tokens [s, s+T) and its targets [s+1, s+T+1). Because each batch depends only
// on (seed, k), the sampler's whole state is the counter k ("data position", saved in checkpoints): resume is exact
// and O(1). Random windows rather than upstream's sequential cursor: every window start is equally likely in every
// epoch, consecutive batches are not correlated, and there is no epoch-boundary wrap to handle. Windows may cross
// document boundaries (the EOS token is then just another target), as upstream's do.
//
// Streams (stream_windows J > 1, the delta layer's soul carried between batches): batch k's row r reads window
// k mod J of a stream of J consecutive windows, the stream starting at s uniform in [0, N − J·T − 1] drawn from an
// Rng seeded by (seed, k div J) — so consecutive batches continue each row's text where it stopped, and the trainer
// carries each row's soul from one batch to the next, starting a fresh soul with every stream (k mod J = 0). The
// model then trains on souls that have read up to J·T tokens, as they will in a long conversation, while each
// backward pass stays one window long (truncated backpropagation through time). J = 1 is the random windows above,
// draw for draw. The state is still the counter k alone, plus the carried souls (saved in checkpoints).
//
// Validation windows: `count` starts spread evenly over the file (first at 0, last at N − T − 1), so a
// validation loss always looks at the same tokens and covers the file from start to end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/atomic_file_writer.h"

namespace ttt {

class Tokenizer;

// A validated, memory-mapped token file. Move-only.
class TokenData {
public:
    // Map `path` and check it: non-empty, size a multiple of 4, every id < vocab_size. Errors (ttt::Error) name the
    // file and, for a bad id, its byte offset: TTT_ERR_IO (cannot open), TTT_ERR_FORMAT (everything else).
    static TokenData open(const std::string& path, int32_t vocab_size);

    TokenData() = default;
    TokenData(TokenData&& o) noexcept;
    TokenData& operator=(TokenData&& o) noexcept;
    TokenData(const TokenData&) = delete;
    TokenData& operator=(const TokenData&) = delete;
    ~TokenData();

    size_t size() const { return n_tokens_; }
    const std::string& path() const { return path_; }
    int32_t at(size_t i) const;
    void copy(size_t start, size_t n, int32_t* out) const;  // tokens [start, start+n), unchecked range

    // Throws Error(TTT_ERR_FORMAT) naming the file unless it holds at least one window of context_len + 1 tokens.
    void require_window(int32_t context_len) const;

private:
    std::string path_;
    const uint8_t* bytes_ = nullptr;
    size_t n_tokens_ = 0;
    void* map_ = nullptr;
    size_t map_size_ = 0;
};

class WindowSampler {
public:
    WindowSampler() = default;
    // data must hold at least context_len + 1 tokens and outlive the sampler.
    // stream_windows: consecutive windows per stream (1 = independent random windows); the data must hold one stream.
    WindowSampler(const TokenData* data, int32_t batch_size, int32_t context_len, uint64_t seed,
                  int32_t stream_windows = 1);

    // Fill inputs and targets ([B, T] each) with batch number position(), then advance the position.
    void next(int32_t* inputs, int32_t* targets);
    uint64_t position() const { return position_; }
    // The next batch starts new streams: its rows need fresh souls.
    bool stream_starts() const { return position_ % uint64_t(J_) == 0; }
    void set_position(uint64_t p) { position_ = p; }

private:
    const TokenData* data_ = nullptr;
    int32_t B_ = 0, T_ = 0, J_ = 1;
    uint64_t seed_ = 0;
    uint64_t position_ = 0;
};

// `count` window starts spread evenly over a file of n_tokens tokens (each window needs T + 1 tokens).
std::vector<size_t> eval_window_starts(size_t n_tokens, int32_t context_len, size_t count);
// Fill rows of inputs/targets ([starts.size(), T]) with the windows at `starts`.
void fill_windows(const TokenData& data, const std::vector<size_t>& starts, int32_t context_len, int32_t* inputs,
                  int32_t* targets);

struct DataMeta {
    uint64_t tokens = 0;
    uint64_t bytes = 0;
    uint64_t documents = 0;
    std::string tokenizer_fingerprint;
};

std::string meta_path_for(const std::string& u32_path);  // ".../train.u32" -> ".../train.meta.json"
void write_data_meta(const std::string& path, const DataMeta& meta);
// false when the file does not exist; a malformed file throws Error(TTT_ERR_FORMAT).
bool read_data_meta(const std::string& path, DataMeta* out);
// FNV-1a 64 of the tokenizer.json text, 16 hex digits.
std::string tokenizer_fingerprint(const std::string& tokenizer_json);

struct PrepareDataOptions {
    double val_fraction = 0.05;         // [0, 0.9]: the last fraction of each input file is held out
    size_t block_bytes = size_t(4) << 20;  // text is read and tokenized in blocks of about this size
    std::function<void(uint64_t done, uint64_t total)> progress;  // bytes of input processed
};

struct PrepareDataResult {
    DataMeta train, val;
};

// Tokenize text files into out_dir/train.u32 and out_dir/val.u32 (+ .meta.json sidecars) and copy the tokenizer
// to out_dir/tokenizer.json.
//  - Each input file is one document. Its last val_fraction of bytes (cut at a line boundary: the first line start
//    at or after the split point, else the last one before it, else — a file of one line — the nearest UTF-8
//    character boundary) goes to val, the rest to train; each part that is not empty is followed by EOS
//    (tokenizer.eos_id(); a tokenizer without one is refused). val_fraction 0 writes no val files (and removes
//    stale ones).
//  - Files of any size: text is read in blocks cut after a newline (preferably one followed by a non-space byte),
//    so memory stays bounded. Tokens at block boundaries can differ slightly from tokenizing the whole file at once.
//  - Tokenized with add_special = false, parse_special = false (special-token text in the input stays text).
//  - Outputs are written crash-safely (temp file + fsync + rename); on failure nothing is replaced.
PrepareDataResult prepare_data(const Tokenizer& tokenizer, const std::vector<std::string>& inputs,
                               const std::string& out_dir, const PrepareDataOptions& options);


}  // namespace ttt
