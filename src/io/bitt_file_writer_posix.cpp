#include "io/bitt_file_writer.h"

#include "common/error.h"
#include "io/atomic_file_writer.h"
#include "io/checksum.h"

namespace ttt {

BittFileWriter::BittFileWriter(const std::string& path, BittContents contents, std::vector<TensorSpec> tensors,
                               std::map<std::string, std::string> metadata)
    : contents_(std::move(contents)), tensors_(std::move(tensors)), path_(path) {
    // The body is built for offset 0: the .bitt header is padded to a multiple of 64, so the alignment holds.
    layout_ = safetensors_layout(tensors_, metadata, 0);
    contents_.fingerprint = 0;
    const std::vector<uint8_t> reserved = bitt_prefix(contents_, layout_.total_bytes(), 0);
    file_ = std::make_unique<AtomicFileWriter>(path);
    file_->write(reserved.data(), reserved.size());
    file_->write(layout_.prefix.data(), layout_.prefix.size());
    body_crc_ = crc32c(layout_.prefix.data(), layout_.prefix.size());
    while (at_ < layout_.order.size() && tensors_[layout_.order[at_]].n_bytes == 0) ++at_;
}

BittFileWriter::~BittFileWriter() = default;

const TensorSpec* BittFileWriter::next() const {
    return at_ < layout_.order.size() ? &tensors_[layout_.order[at_]] : nullptr;
}

size_t BittFileWriter::next_index() const { return at_ < layout_.order.size() ? layout_.order[at_] : kDone; }

void BittFileWriter::write(const void* data, size_t n_bytes) {
    const TensorSpec* t = next();
    if (!t) fail_argument("'" + path_ + "': every tensor is already written");
    if (n_bytes > t->n_bytes - written_in_)
        fail_argument("'" + path_ + "': " + std::to_string(n_bytes) + " bytes overrun tensor '" + t->name + "' (" +
                      std::to_string(t->n_bytes - written_in_) + " left of " + std::to_string(t->n_bytes) + ")");
    file_->write(data, n_bytes);
    body_crc_ = crc32c(data, n_bytes, body_crc_);
    written_in_ += n_bytes;
    if (written_in_ == t->n_bytes) {
        written_in_ = 0;
        ++at_;
        while (at_ < layout_.order.size() && tensors_[layout_.order[at_]].n_bytes == 0) ++at_;
    }
}

void BittFileWriter::commit(uint64_t fingerprint) {
    if (const TensorSpec* t = next())
        throw Error(TTT_ERR_INVALID_STATE, "'" + path_ + "': tensor '" + t->name + "' was not written (" +
                                               std::to_string(written_in_) + " of " + std::to_string(t->n_bytes) +
                                               " bytes)");
    contents_.fingerprint = fingerprint;
    const std::vector<uint8_t> header = bitt_prefix(contents_, layout_.total_bytes(), body_crc_);
    file_->write_at(0, header.data(), header.size());
    file_->commit();
}

}  // namespace ttt
