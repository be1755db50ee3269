// Two small open-addressing hash maps for the BPE hot path: token string -> id and (left id, right id) -> merge.
// std::unordered_map would allocate a node per entry and, in C++17, a std::string per string_view lookup.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ttt {

// 64-bit hash of a byte string, 8 bytes at a time (quality is enough for a table with linear probing).
inline uint64_t hash_bytes(const char* p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
    while (n >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ (w * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n > 0) std::memcpy(&w, p, n);
    h = (h ^ (w * 0x87C37B91114253D5ull)) * 0x4CF5AD432745937Full;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return h;
}

// Byte string -> int32 id. Keys are copied into one pool. Never shrinks; load factor <= 1/2.
class StringIdMap {
public:
    // Insert key -> id. Returns false (and changes nothing) if key is already present.
    bool insert(std::string_view key, int32_t id) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        uint64_t h = hash_bytes(key.data(), key.size());
        size_t i = h & mask_;
        while (slots_[i].id >= 0) {
            if (slots_[i].hash == h && view(slots_[i]) == key) return false;
            i = (i + 1) & mask_;
        }
        slots_[i] = Slot{h, pool_.size(), key.size(), id};
        pool_.append(key);
        ++size_;
        return true;
    }
    // The id of key, or -1.
    int32_t find(std::string_view key) const {
        if (size_ == 0) return -1;
        uint64_t h = hash_bytes(key.data(), key.size());
        size_t i = h & mask_;
        while (slots_[i].id >= 0) {
            if (slots_[i].hash == h && view(slots_[i]) == key) return slots_[i].id;
            i = (i + 1) & mask_;
        }
        return -1;
    }
    size_t size() const { return size_; }

    // Call fn(key, id) for every entry (in table order).
    template <class F>
    void for_each(F&& fn) const {
        for (const Slot& s : slots_) {
            if (s.id >= 0) fn(view(s), s.id);
        }
    }

private:
    struct Slot {
        uint64_t hash = 0;
        size_t off = 0;
        size_t len = 0;
        int32_t id = -1;  // -1 = empty
    };
    std::string_view view(const Slot& s) const { return std::string_view(pool_.data() + s.off, s.len); }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        size_t cap = old.empty() ? 64 : old.size() * 2;
        slots_.assign(cap, Slot{});
        mask_ = cap - 1;
        for (const Slot& s : old) {
            if (s.id < 0) continue;
            size_t i = s.hash & mask_;
            while (slots_[i].id >= 0) i = (i + 1) & mask_;
            slots_[i] = s;
        }
    }
    std::vector<Slot> slots_;
    std::string pool_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

// (left id, right id) -> merge rank and the id of the merged token.
class PairMap {
public:
    struct Value {
        int32_t rank;
        int32_t id;
    };
    static uint64_t key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    // Insert or overwrite (HF builds its merge map with collect(), so a repeated pair keeps the last rank).
    void put(int32_t a, int32_t b, Value v) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        uint64_t k = key(a, b);
        size_t i = mix(k) & mask_;
        while (slots_[i].key != kEmpty) {
            if (slots_[i].key == k) {
                slots_[i].value = v;
                return;
            }
            i = (i + 1) & mask_;
        }
        slots_[i] = Slot{k, v};
        ++size_;
    }
    const Value* find(int32_t a, int32_t b) const {
        if (size_ == 0) return nullptr;
        uint64_t k = key(a, b);
        size_t i = mix(k) & mask_;
        while (slots_[i].key != kEmpty) {
            if (slots_[i].key == k) return &slots_[i].value;
            i = (i + 1) & mask_;
        }
        return nullptr;
    }
    size_t size() const { return size_; }

private:
    static constexpr uint64_t kEmpty = ~0ull;
    struct Slot {
        uint64_t key = kEmpty;
        Value value{0, 0};
    };
    static uint64_t mix(uint64_t k) {
        k ^= k >> 33;
        k *= 0xFF51AFD7ED558CCDull;
        k ^= k >> 33;
        return k;
    }
    void grow() {
        std::vector<Slot> old = std::move(slots_);
        size_t cap = old.empty() ? 64 : old.size() * 2;
        slots_.assign(cap, Slot{});
        mask_ = cap - 1;
        for (const Slot& s : old) {
            if (s.key == kEmpty) continue;
            size_t i = mix(s.key) & mask_;
            while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
            slots_[i] = s;
        }
    }
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

}  // namespace ttt
