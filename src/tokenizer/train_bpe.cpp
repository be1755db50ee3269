// Byte-level BPE training (GPT-2 style). Words are the GPT-2 regex pieces of the corpus (special tokens cut out
// first, so they never take part in merges), counted once; the vocab starts with the special tokens and the 256
// byte characters; then the most frequent adjacent pair is merged until the vocab is full or no pair reaches
// min_frequency. Pair counts are updated incrementally (only words containing the merged pair are touched) and
// the best pair comes from a max-heap with lazy re-validation, as in HF's BpeTrainer. Ties go to the smallest
// (left id, right id), so the result does not depend on hash order: same input, byte-identical output.
#include <algorithm>
#include <fstream>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/json_write.h"
#include "tokenizer/split_patterns.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/train_bpe.h"
#include "tokenizer/unicode.h"

namespace ttt {
namespace {

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

class BpeTrainer {
public:

    BpeTrainer(int32_t vocab_size, int32_t min_frequency, const std::vector<std::string>& specials, size_t part_bytes)
        : part_bytes_(std::max<size_t>(part_bytes, 64)), vocab_size_(vocab_size), min_frequency_(min_frequency),
          specials_(specials) {
        if (min_frequency < 0) fail_argument("train_bpe: min_frequency must not be negative");
        std::unordered_set<std::string> seen;
        for (const std::string& s : specials) {
            if (s.empty()) fail_argument("train_bpe: empty special token");
            if (!unicode::is_valid_utf8(s)) fail_argument("train_bpe: special token is not valid UTF-8");
            if (!seen.insert(s).second) fail_argument("train_bpe: duplicate special token \"" + s + "\"");
        }
        const int64_t base = static_cast<int64_t>(specials.size()) + 256;
        if (vocab_size < base || vocab_size > (1 << 24)) {
            fail_argument("train_bpe: vocab_size " + std::to_string(vocab_size) + " must be in [" +
                          std::to_string(base) + ", 2^24] (special tokens + 256 byte tokens at least)");
        }
        special_tokens_.reserve(specials.size());
        for (const std::string& s : specials) {
            AddedToken t;
            t.content = s;
            t.special = true;
            t.normalized = false;
            special_tokens_.push_back(t);
        }
        std::vector<const AddedToken*> ptrs;
        for (const AddedToken& t : special_tokens_) ptrs.push_back(&t);
        special_matcher_.build(ptrs, specials);
    }

    // Where a text may be cut into parts that are counted separately with exactly the same words: right after a
    // single '\n' between two non-space characters, or before a ' ' between two ASCII letters (a GPT-2 match never
    // spans those points or looks past them), and not inside a special token. Looks for the last such point
    // p < limit in the last quarter before limit, far enough from the end of text that every special token that
    // could span p is visible. Returns 0 if there is none.
    size_t safe_cut(std::string_view text, size_t limit) const {
        auto is_ws = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
        auto is_alpha = [](char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; };
        size_t longest = 1;
        for (const std::string& sp : specials_) longest = std::max(longest, sp.size());
        if (text.size() <= longest + 2) return 0;
        limit = std::min(limit, text.size() - longest - 1);
        for (size_t p = limit; p > 1 && p > limit - limit / 4; --p) {
            bool ok = (text[p - 1] == '\n' && !is_ws(text[p - 2]) && !is_ws(text[p]) &&
                       static_cast<unsigned char>(text[p - 2]) < 0x80) ||
                      (text[p] == ' ' && is_alpha(text[p - 1]) && is_alpha(text[p + 1]));
            if (!ok) continue;
            for (const std::string& sp : specials_) {
                size_t from = p >= sp.size() ? p - sp.size() + 1 : 0;
                size_t k = text.substr(from, p - from + sp.size() - 1).find(sp);
                if (k != std::string_view::npos && from + k < p) ok = false;  // an occurrence spans p
            }
            if (ok) return p;
        }
        return 0;
    }

    void add_text(std::string_view text) {
        while (text.size() > part_bytes_) {  // bound the scratch of the regex split
            size_t cut = safe_cut(text, part_bytes_);
            if (cut == 0) cut = part_bytes_;  // no safe point in the last quarter: counts may differ a little here
            add_part(text.substr(0, cut));
            text.remove_prefix(cut);
        }
        add_part(text);
    }

    void add_part(std::string_view text) {
        std::vector<Segment> segments;
        special_matcher_.split(text, true, segments);
        std::vector<std::pair<size_t, size_t>> pieces;
        for (const Segment& seg : segments) {
            if (seg.token >= 0) continue;
            pieces.clear();
            std::string_view part = text.substr(seg.begin, seg.end - seg.begin);
            split::find_matches(split::Pattern::Gpt2, part, pieces);
            for (const auto& r : pieces) ++counts_[std::string(part.substr(r.first, r.second - r.first))];
        }
    }

    std::string train(const std::function<void(double)>& progress) {
        init_vocab();
        init_words();
        if (progress) progress(0.05);
        const int32_t initial = static_cast<int32_t>(vocab_.size());
        const int64_t threshold = std::max<int64_t>(1, min_frequency_);
        while (static_cast<int32_t>(vocab_.size()) < vocab_size_ && !heap_.empty()) {
            Candidate top = heap_.top();
            heap_.pop();
            auto it = pair_counts_.find(pair_key(top.a, top.b));
            int64_t current = it == pair_counts_.end() ? 0 : it->second;
            if (current != top.count) {  // stale entry: re-queue with the current count
                if (current > 0) heap_.push(Candidate{current, top.a, top.b});
                continue;
            }
            if (top.count < threshold) break;
            merge(top.a, top.b);
            if (progress) {
                progress(0.05 + 0.95 * double(vocab_.size() - initial) / double(vocab_size_ - initial));
            }
        }
        if (progress) progress(1.0);
        return to_json();
    }

private:
    struct Candidate {
        int64_t count;
        int32_t a, b;
    };
    // Max-heap on count; ties: smallest (a, b) first.
    struct Lower {
        bool operator()(const Candidate& x, const Candidate& y) const {
            if (x.count != y.count) return x.count < y.count;
            if (x.a != y.a) return x.a > y.a;
            return x.b > y.b;
        }
    };

    int32_t add_token(const std::string& s) {
        auto [it, inserted] = token_ids_.emplace(s, static_cast<int32_t>(vocab_.size()));
        if (inserted) vocab_.push_back(s);
        return it->second;
    }

    void init_vocab() {
        for (const std::string& s : specials_) add_token(s);
        for (int b = 0; b < 256; ++b) byte_ids_[b] = add_token(byte_level::char_of_byte(static_cast<uint8_t>(b)));
    }

    void init_words() {
        // Sorted so that word indices (and everything derived) do not depend on hash order.
        std::vector<std::pair<std::string, int64_t>> sorted(counts_.begin(), counts_.end());
        counts_.clear();
        std::sort(sorted.begin(), sorted.end());
        words_.reserve(sorted.size());
        for (auto& [w, c] : sorted) {
            std::vector<int32_t> syms;
            syms.reserve(w.size());
            for (unsigned char b : w) syms.push_back(byte_ids_[b]);
            words_.push_back(std::move(syms));
            word_counts_.push_back(c);
        }
        for (uint32_t wi = 0; wi < words_.size(); ++wi) {
            const std::vector<int32_t>& s = words_[wi];
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                uint64_t k = pair_key(s[i], s[i + 1]);
                pair_counts_[k] += word_counts_[wi];
                where_[k].push_back(wi);
            }
        }
        for (const auto& [k, c] : pair_counts_) {
            heap_.push(Candidate{c, static_cast<int32_t>(k >> 32), static_cast<int32_t>(k & 0xFFFFFFFFu)});
        }
    }

    void merge(int32_t a, int32_t b) {
        const int32_t id = add_token(vocab_[static_cast<size_t>(a)] + vocab_[static_cast<size_t>(b)]);
        merges_.emplace_back(a, b);
        const uint64_t merged_key = pair_key(a, b);
        std::vector<uint32_t> affected = std::move(where_[merged_key]);
        where_.erase(merged_key);
        std::sort(affected.begin(), affected.end());
        affected.erase(std::unique(affected.begin(), affected.end()), affected.end());

        std::vector<uint64_t> changed;
        for (uint32_t wi : affected) {
            std::vector<int32_t>& s = words_[wi];
            const int64_t c = word_counts_[wi];
            bool found = false;
            for (size_t i = 0; i + 1 < s.size() && !found; ++i) found = s[i] == a && s[i + 1] == b;
            if (!found) continue;
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                uint64_t k = pair_key(s[i], s[i + 1]);
                pair_counts_[k] -= c;
                changed.push_back(k);
            }
            std::vector<int32_t> merged;
            merged.reserve(s.size());
            for (size_t i = 0; i < s.size(); ++i) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    merged.push_back(id);
                    ++i;
                } else {
                    merged.push_back(s[i]);
                }
            }
            s.swap(merged);
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                uint64_t k = pair_key(s[i], s[i + 1]);
                pair_counts_[k] += c;
                changed.push_back(k);
                if (s[i] == id || s[i + 1] == id) where_[k].push_back(wi);
            }
        }
        std::sort(changed.begin(), changed.end());
        changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
        for (uint64_t k : changed) {
            auto it = pair_counts_.find(k);
            if (it->second <= 0) {
                pair_counts_.erase(it);
                continue;
            }
            heap_.push(Candidate{it->second, static_cast<int32_t>(k >> 32), static_cast<int32_t>(k & 0xFFFFFFFFu)});
        }
    }

    std::string to_json() const {
        std::string j;
        j += "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [";
        for (size_t i = 0; i < specials_.size(); ++i) {
            j += i ? ",\n    " : "\n    ";
            j += "{\"id\": " + std::to_string(i) + ", \"content\": ";
            append_json_string(j, specials_[i]);
            j += ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, "
                 "\"special\": true}";
        }
        j += specials_.empty() ? "],\n" : "\n  ],\n";
        j += "  \"normalizer\": null,\n"
             "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
             "\"use_regex\": true},\n"
             "  \"post_processor\": null,\n"
             "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, "
             "\"use_regex\": true},\n"
             "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
             "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
             "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n"
             "    \"vocab\": {";
        for (size_t i = 0; i < vocab_.size(); ++i) {
            j += i ? ",\n      " : "\n      ";
            append_json_string(j, vocab_[i]);
            j += ": " + std::to_string(i);
        }
        j += "\n    },\n    \"merges\": [";
        for (size_t i = 0; i < merges_.size(); ++i) {
            j += i ? ",\n      [" : "\n      [";
            append_json_string(j, vocab_[static_cast<size_t>(merges_[i].first)]);
            j += ", ";
            append_json_string(j, vocab_[static_cast<size_t>(merges_[i].second)]);
            j += "]";
        }
        j += merges_.empty() ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n";
        return j;
    }

public:
    const size_t part_bytes_;  // texts are counted in parts of at most this many bytes

private:
    int32_t vocab_size_;
    int32_t min_frequency_;
    std::vector<std::string> specials_;
    std::vector<AddedToken> special_tokens_;
    AddedTokenMatcher special_matcher_;

    std::unordered_map<std::string, int64_t> counts_;  // raw word bytes -> occurrences
    std::vector<std::vector<int32_t>> words_;          // word -> current symbols
    std::vector<int64_t> word_counts_;
    std::unordered_map<uint64_t, int64_t> pair_counts_;
    std::unordered_map<uint64_t, std::vector<uint32_t>> where_;  // pair -> words that (may) contain it
    std::priority_queue<Candidate, std::vector<Candidate>, Lower> heap_;

    std::vector<std::string> vocab_;  // id -> token (byte-level characters)
    std::unordered_map<std::string, int32_t> token_ids_;
    int32_t byte_ids_[256] = {};
    std::vector<std::pair<int32_t, int32_t>> merges_;
};

}  // namespace

std::string train_bpe_parts(const std::vector<std::string>* files, const std::vector<std::string>* texts,
                            int32_t vocab_size, int32_t min_frequency, const std::vector<std::string>& special_tokens,
                            const std::function<void(double)>& progress, size_t part_bytes) {
    BpeTrainer trainer(vocab_size, min_frequency, special_tokens, part_bytes);
    if (texts) {
        for (const std::string& t : *texts) trainer.add_text(t);
    }
    if (files) {
        for (const std::string& path : *files) {
            std::ifstream f(path, std::ios::binary);
            if (!f) fail_io("train_bpe: cannot open " + path);
            // Stream the file: only the word counts and one block stay in memory. A block is counted up to its
            // last safe cut; the rest is carried into the next block.
            std::string buf;
            std::vector<char> block(part_bytes);
            while (f) {
                f.read(block.data(), static_cast<std::streamsize>(block.size()));
                buf.append(block.data(), static_cast<size_t>(f.gcount()));
                if (!f) break;
                size_t cut = trainer.safe_cut(buf, buf.size());
                if (cut == 0 && buf.size() < 4 * part_bytes) continue;  // read more before forcing a cut
                if (cut == 0) cut = buf.size();
                trainer.add_text(std::string_view(buf).substr(0, cut));
                buf.erase(0, cut);
            }
            if (f.bad()) fail_io("train_bpe: cannot read " + path);
            trainer.add_text(buf);
        }
    }
    return trainer.train(progress);
}

std::string train_bpe_texts(const std::vector<std::string>& texts, int32_t vocab_size, int32_t min_frequency,
                            const std::vector<std::string>& special_tokens, std::function<void(double)> progress) {
    return train_bpe_parts(nullptr, &texts, vocab_size, min_frequency, special_tokens, progress, kTrainPartBytes);
}

std::string train_bpe(const std::vector<std::string>& files, int32_t vocab_size, int32_t min_frequency,
                      const std::vector<std::string>& special_tokens, std::function<void(double)> progress) {
    return train_bpe_parts(&files, nullptr, vocab_size, min_frequency, special_tokens, progress, kTrainPartBytes);
}

}  // namespace ttt
