#include "model/state_block.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/error.h"

namespace ttt {

StateBlock::StateBlock(Backend* where, size_t bytes) : backend_(where), bytes_(bytes) {
    if (backend_) {
        buffer_ = backend_->alloc(bytes);
        zero();
    } else {
        host_.assign((bytes + 7) / 8, 0);
    }
}

StateBlock::StateBlock(StateBlock&& other) noexcept
    : backend_(std::exchange(other.backend_, nullptr)),
      buffer_(std::move(other.buffer_)),
      host_(std::move(other.host_)),
      bytes_(std::exchange(other.bytes_, 0)) {
    other.host_.clear();
}

StateBlock& StateBlock::operator=(StateBlock&& other) noexcept {
    if (this != &other) {
        backend_ = std::exchange(other.backend_, nullptr);
        buffer_ = std::move(other.buffer_);
        host_ = std::move(other.host_);
        other.host_.clear();
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

StateBlock::StateBlock(const StateBlock& other) : StateBlock(other.moved_to(other.backend_, other.bytes_, other.bytes_)) {}

StateBlock& StateBlock::operator=(const StateBlock& other) {
    if (this != &other) *this = StateBlock(other);
    return *this;
}

Tensor StateBlock::span(size_t offset, size_t n) const {
    if (offset > bytes_ || n > bytes_ - offset)
        throw Error(TTT_ERR_PANIC, "state block access [" + std::to_string(offset) + ", +" + std::to_string(n) +
                                       ") outside its " + std::to_string(bytes_) + " bytes");
    char* base = static_cast<char*>(const_cast<StateBlock*>(this)->data());
    return Tensor(base + offset, ElemType::i8, 1, n);
}

void StateBlock::read(void* host, size_t offset, size_t n) const {
    const Tensor t = span(offset, n);
    if (!n) return;
    if (backend_) backend_->download(t, host);
    else std::memcpy(host, t.data, n);
}

void StateBlock::write(const void* host, size_t offset, size_t n) {
    const Tensor t = span(offset, n);
    if (!n) return;
    if (backend_) backend_->upload(t, host);
    else std::memcpy(t.data, host, n);
}

std::vector<float> StateBlock::to_floats() const {
    std::vector<float> v(bytes_ / sizeof(float));
    read(v.data(), 0, v.size() * sizeof(float));
    return v;
}

void StateBlock::from_floats(const std::vector<float>& v) {
    if (v.size() * sizeof(float) != bytes_)
        throw Error(TTT_ERR_PANIC, "state block of " + std::to_string(bytes_) + " bytes set from " +
                                       std::to_string(v.size()) + " floats");
    write(v.data(), 0, bytes_);
}

void StateBlock::zero_from(size_t offset) {
    if (offset >= bytes_) return;
    if (in_host_memory()) {
        std::memset(static_cast<char*>(data()) + offset, 0, bytes_ - offset);
        return;
    }
    const std::vector<uint8_t> zeros(std::min<size_t>(bytes_ - offset, size_t(1) << 20), 0);
    for (size_t off = offset; off < bytes_; off += zeros.size()) write(zeros.data(), off, std::min(zeros.size(), bytes_ - off));
}

StateBlock StateBlock::moved_to(Backend* where, size_t bytes, size_t keep) const {
    StateBlock out;
    out.backend_ = where;
    out.bytes_ = bytes;
    if (where) out.buffer_ = where->alloc(bytes);
    else out.host_.resize((bytes + 7) / 8);
    keep = std::min({keep, bytes, bytes_});
    out.zero_from(keep);  // the rest is written below
    if (!keep) return out;
    if (in_host_memory() && out.in_host_memory()) {  // both in host memory: one copy
        std::memcpy(out.data(), const_cast<StateBlock*>(this)->data(), keep);
        return out;
    }
    // Through the host otherwise: rare (placing, copying or growing a soul, never per token). A CUDA backend may
    // add a device-to-device path here.
    std::vector<uint8_t> staging(keep);
    read(staging.data(), 0, keep);
    out.write(staging.data(), 0, keep);
    return out;
}

bool operator==(const StateBlock& a, const StateBlock& b) {
    if (a.bytes() != b.bytes()) return false;
    std::vector<uint8_t> x(a.bytes()), y(b.bytes());
    a.read(x.data(), 0, x.size());
    b.read(y.data(), 0, y.size());
    return x == y;
}

bool block_usable_by(const StateBlock& block, const Backend& runner) {
    if (!block.backend()) return runner.memory_is_host();
    return block.backend() == &runner || block.backend()->same_memory_as(runner) ||
           (block.backend()->memory_is_host() && runner.memory_is_host());
}

}  // namespace ttt
