// One block of a soul's state (a layer's fast weights, its pending sums or token-mixing tail, a layer's K or V
// rows) in the memory of the backend that runs the layer. The forward hands the ops pointers into it (TttStateRef,
// KvCacheRef), so a pass never moves a soul: on a CUDA backend the state stays on the device between tokens, and
// only saving, loading and inspecting a soul cross to the host (read, write), explicitly.
//
// A block without a backend lives in host memory of its own (a soul not yet placed, e.g. one being loaded from a
// file); placing it on a backend (SoulState::place) moves it there. A placed block refers to its backend: it must
// not outlive it (a context's soul dies with the context that owns both).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"

namespace ttt {

class StateBlock {
public:
    StateBlock() = default;
    // `bytes` zero bytes in `where`'s memory (nullptr: host memory).
    StateBlock(Backend* where, size_t bytes);
    StateBlock(const StateBlock& other);  // a copy in the same memory
    StateBlock& operator=(const StateBlock& other);
    // A moved-from block is empty (no bytes, no backend).
    StateBlock(StateBlock&& other) noexcept;
    StateBlock& operator=(StateBlock&& other) noexcept;

    size_t bytes() const { return bytes_; }
    Backend* backend() const { return backend_; }
    // The block in its memory, for the ops of its backend (host memory when the block has no backend).
    void* data() { return bytes_ ? (buffer_ ? buffer_->data() : host_.data()) : nullptr; }
    float* floats() { return static_cast<float*>(data()); }

    // Host copies (download / upload through the backend): `n` bytes at byte `offset`.
    void read(void* host, size_t offset, size_t n) const;
    void write(const void* host, size_t offset, size_t n);
    std::vector<float> to_floats() const;           // the whole block as floats
    void from_floats(const std::vector<float>& v);  // v.size() · 4 must equal bytes()
    void zero() { zero_from(0); }
    // The first `keep` bytes of this block in a new block of `bytes` bytes in `where`'s memory (the rest zero).
    StateBlock moved_to(Backend* where, size_t bytes, size_t keep) const;

private:
    Tensor span(size_t offset, size_t n) const;
    bool in_host_memory() const { return !backend_ || backend_->memory_is_host(); }
    void zero_from(size_t offset);  // bytes [offset, bytes())  // bytes [offset, offset + n) as a tensor of the backend

    Backend* backend_ = nullptr;
    std::unique_ptr<Buffer> buffer_;        // when backend_ is set
    std::vector<uint64_t> host_;            // otherwise (8-byte aligned, zeroed)
    size_t bytes_ = 0;
};

// Blocks are values (a copy is a copy of the contents): equal when their bytes are.
bool operator==(const StateBlock& a, const StateBlock& b);
inline bool operator!=(const StateBlock& a, const StateBlock& b) { return !(a == b); }

// Whether the ops of `runner` can work on `block` in place (the same memory).
bool block_usable_by(const StateBlock& block, const Backend& runner);

}  // namespace ttt
