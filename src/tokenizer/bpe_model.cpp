// BPE word merging (HF-exact), with byte fallback, unk fusion, ignore_merges and a word cache.
#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "tokenizer/unicode.h"

namespace ttt {
namespace {

struct Symbol {
    int32_t id;
    int32_t prev;  // index of the previous live symbol, -1 if none
    int32_t next;  // index of the next live symbol, -1 if none
    uint32_t len;  // bytes covered; 0 = merged away
};

struct Merge {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
};
// Heap order: lowest rank first, then leftmost position (HF's Merge Ord).
struct MergeAfter {
    bool operator()(const Merge& a, const Merge& b) const {
        return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    }
};

constexpr size_t kScratchKeep = 1 << 16;  // elements of per-thread scratch kept between calls

struct Scratch {
    std::vector<Symbol> symbols;
    std::vector<Merge> heap;
    std::string piece;
};

}  // namespace

BpeModel::BpeModel(StringIdMap vocab, PairMap merges, BpeConfig config)
    : vocab_(std::move(vocab)), merges_(std::move(merges)), config_(std::move(config)) {
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_ids_[b] = vocab_.find(name);
    }
    if (config_.continuing_subword_prefix.empty() && config_.end_of_word_suffix.empty()) {
        char_ids_.assign(0x10000, -1);
        vocab_.for_each([this](std::string_view token, int32_t id) {
            unicode::Decoded d = unicode::decode(token.data(), token.size(), 0);
            if (d.len == token.size() && d.cp < 0x10000) char_ids_[d.cp] = id;
        });
    }
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (config_.ignore_merges) {
        int32_t id = vocab_.find(word);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }
    const std::string& marker = config_.split_marker;
    if (marker.empty()) {
        tokenize_part(word, out);
        return;
    }
    size_t begin = 0;
    for (size_t k = word.find(marker, 1); k != std::string_view::npos; k = word.find(marker, k + marker.size())) {
        bool after_marker = k >= marker.size() && word.compare(k - marker.size(), marker.size(), marker) == 0;
        if (after_marker) continue;
        tokenize_part(word.substr(begin, k - begin), out);
        begin = k;
    }
    tokenize_part(word.substr(begin), out);
}

void BpeModel::tokenize_part(std::string_view word, std::vector<int32_t>& out) const {
    const bool cacheable = word.size() < kCacheMaxWordBytes;
    if (cacheable && cache_get(word, out)) return;
    const size_t first = out.size();
    merge_word(word, out);
    if (cacheable) cache_put(word, out.data() + first, out.size() - first);
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& out) const {
    thread_local Scratch scratch;
    std::vector<Symbol>& sym = scratch.symbols;
    sym.clear();
    auto add = [&sym](int32_t id, size_t len) {
        int32_t idx = static_cast<int32_t>(sym.size());
        if (idx > 0) sym.back().next = idx;
        sym.push_back(Symbol{id, idx - 1, -1, static_cast<uint32_t>(len)});
    };

    // 1. One symbol per character (HF merge_word): vocab hit, else byte fallback, else (fused) unk, else dropped.
    int32_t unk_pending = -1;  // id of a pending unk
    size_t unk_len = 0;
    const bool affixes = !config_.continuing_subword_prefix.empty() || !config_.end_of_word_suffix.empty();
    for (size_t i = 0; i < w.size();) {
        const unicode::Decoded dc = unicode::decode(w.data(), w.size(), i);
        const size_t clen = dc.len;
        std::string_view s = w.substr(i, clen);
        if (affixes) {
            std::string& p = scratch.piece;
            p.clear();
            if (i > 0) p += config_.continuing_subword_prefix;
            p += s;
            if (i + clen == w.size()) p += config_.end_of_word_suffix;
            s = p;
        }
        i += clen;
        int32_t id = (dc.cp < 0x10000 && !char_ids_.empty()) ? char_ids_[dc.cp] : vocab_.find(s);
        if (id >= 0) {
            if (unk_pending >= 0) {
                add(unk_pending, unk_len);
                unk_pending = -1;
            }
            add(id, clen);
            continue;
        }
        if (config_.byte_fallback) {
            bool all = true;
            for (unsigned char b : s) all = all && byte_ids_[b] >= 0;
            if (all) {
                // HF adds the byte tokens without flushing a pending unk first; we keep its order.
                for (unsigned char b : s) add(byte_ids_[b], 1);
                continue;
            }
        }
        if (config_.unk_id >= 0) {
            if (unk_pending >= 0 && config_.fuse_unk) {
                unk_len += clen;
            } else {
                if (unk_pending >= 0) add(unk_pending, unk_len);
                unk_pending = config_.unk_id;
                unk_len = clen;
            }
        }
    }
    if (unk_pending >= 0) add(unk_pending, unk_len);

    // 2. Merge lowest-rank pairs until none is left.
    std::vector<Merge>& heap = scratch.heap;
    heap.clear();
    for (size_t k = 0; k + 1 < sym.size(); ++k) {
        if (const PairMap::Value* m = merges_.find(sym[k].id, sym[k + 1].id)) {
            heap.push_back(Merge{m->rank, static_cast<int32_t>(k), m->id});
        }
    }
    std::make_heap(heap.begin(), heap.end(), MergeAfter());
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), MergeAfter());
        const Merge top = heap.back();
        heap.pop_back();
        Symbol& cur = sym[top.pos];
        if (cur.len == 0 || cur.next < 0) continue;
        const int32_t next_pos = cur.next;
        const Symbol right = sym[next_pos];
        // Skip stale entries: the pair at this position changed since the entry was pushed.
        const PairMap::Value* m = merges_.find(cur.id, right.id);
        if (!m || m->id != top.new_id) continue;

        cur.id = top.new_id;
        cur.len += right.len;
        cur.next = right.next;
        sym[next_pos].len = 0;
        if (right.next >= 0) sym[right.next].prev = top.pos;

        if (cur.prev >= 0) {
            if (const PairMap::Value* pm = merges_.find(sym[cur.prev].id, cur.id)) {
                heap.push_back(Merge{pm->rank, cur.prev, pm->id});
                std::push_heap(heap.begin(), heap.end(), MergeAfter());
            }
        }
        if (cur.next >= 0) {
            if (const PairMap::Value* nm = merges_.find(cur.id, sym[cur.next].id)) {
                heap.push_back(Merge{nm->rank, top.pos, nm->id});
                std::push_heap(heap.begin(), heap.end(), MergeAfter());
            }
        }
    }
    for (const Symbol& s : sym) {
        if (s.len != 0) out.push_back(s.id);
    }
    // A huge word (a whole SentencePiece text) must not leave tens of MB per thread behind.
    if (sym.capacity() > kScratchKeep) {
        std::vector<Symbol>().swap(sym);
        std::vector<Merge>().swap(heap);
    }
}

bool BpeModel::cache_get(std::string_view word, std::vector<int32_t>& out) const {
    std::shared_lock<std::shared_mutex> lock(cache_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    int32_t idx = cache_index_.find(word);
    if (idx < 0) return false;
    auto [off, count] = cache_spans_[static_cast<size_t>(idx)];
    out.insert(out.end(), cache_ids_.begin() + off, cache_ids_.begin() + off + count);
    return true;
}

void BpeModel::cache_put(std::string_view word, const int32_t* ids, size_t n) const {
    std::unique_lock<std::shared_mutex> lock(cache_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    if (cache_spans_.size() >= kCacheCapacity) {
        cache_index_ = StringIdMap();
        cache_spans_.clear();
        cache_ids_.clear();
    }
    if (!cache_index_.insert(word, static_cast<int32_t>(cache_spans_.size()))) return;
    cache_spans_.emplace_back(static_cast<uint32_t>(cache_ids_.size()), static_cast<uint32_t>(n));
    cache_ids_.insert(cache_ids_.end(), ids, ids + n);
}

}  // namespace ttt
