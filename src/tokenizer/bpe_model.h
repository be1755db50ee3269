// The BPE model: vocab, merge ranks, and the merge of one pre-token ("word") into ids, exactly as HF's
// tokenizers::models::bpe (Word::merge_all): a min-heap of (rank, position) over a linked list of symbols,
// lowest rank first, leftmost on ties, stale heap entries skipped. O(n log n) per word, so a 1 MB word is fine.
#pragma once

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_map.h"

namespace ttt {

struct BpeConfig {
    int32_t unk_id = -1;               // -1: unknown characters are dropped (as HF without unk_token)
    bool fuse_unk = false;             // consecutive unknowns become one unk
    bool byte_fallback = false;        // unknown characters become <0xNN> tokens
    bool ignore_merges = false;        // a word that is itself in the vocab is emitted whole (Llama-3)
    std::string continuing_subword_prefix;  // e.g. "##"; empty = none
    std::string end_of_word_suffix;         // e.g. "</w>"; empty = none
    // If set, a word is cut before each occurrence of this marker ("▁") that does not follow another one, and
    // the parts are merged separately (and cached). Only exact when no token can span such a cut: the loader sets
    // it after checking that no vocab token contains a non-marker character followed by the marker, that the
    // marker itself is a token, and that neither ignore_merges nor affixes are in use. SentencePiece-style models
    // without a pre-tokenizer (TinyLlama) pass the whole text as one word; this keeps that fast.
    std::string split_marker;
};

class BpeModel {
public:
    // vocab: token -> id; merges: (left id, right id) -> (rank, merged id).
    BpeModel(StringIdMap vocab, PairMap merges, BpeConfig config);

    // Append the ids of one word to out. Thread-safe (the cache is guarded).
    void tokenize(std::string_view word, std::vector<int32_t>& out) const;

    int32_t token_id(std::string_view token) const { return vocab_.find(token); }
    const BpeConfig& config() const { return config_; }

private:
    void tokenize_part(std::string_view word, std::vector<int32_t>& out) const;
    void merge_word(std::string_view word, std::vector<int32_t>& out) const;
    bool cache_get(std::string_view word, std::vector<int32_t>& out) const;
    void cache_put(std::string_view word, const int32_t* ids, size_t n) const;

    StringIdMap vocab_;
    PairMap merges_;
    BpeConfig config_;
    std::array<int32_t, 256> byte_ids_;  // id of "<0xNN>" per byte, -1 if absent
    // Id of each single-character token below U+10000 (-1 if none): the first step of every merge looks up one
    // token per character, and this avoids hashing. Empty when affixes change what a character's token is.
    std::vector<int32_t> char_ids_;

    // Word -> ids cache (HF keeps one too). Readers share the lock; a busy lock is skipped, never waited on.
    // Only short words are cached; when full the cache is cleared rather than evicted entry by entry.
    static constexpr size_t kCacheMaxWordBytes = 256;
    static constexpr size_t kCacheCapacity = 1 << 16;  // ~4 MB at most
    mutable std::shared_mutex cache_mutex_;
    mutable StringIdMap cache_index_;                        // word -> index into cache_spans_
    mutable std::vector<std::pair<uint32_t, uint32_t>> cache_spans_;  // (offset, count) in cache_ids_
    mutable std::vector<int32_t> cache_ids_;
};

}  // namespace ttt
