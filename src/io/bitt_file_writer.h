// A .bitt file written tensor by tensor, so a model never has to be in memory whole (a converter streams a
// checkpoint larger than memory). The bytes are exactly those write_bitt would give for the same contents.
// Crash-safe like every save: a temp file beside the target, fsync, rename (io/atomic_file_writer.h); a writer
// destroyed before commit() leaves the target untouched. POSIX only (io/atomic_file_writer.h).
//
// The tensor directory is fixed up front (the body's safetensors header comes first, and the .bitt header's length
// depends only on the body size); the checksums and the fingerprint are written over the reserved header last.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/bitt.h"
#include "io/safetensors.h"

namespace ttt {

class AtomicFileWriter;

class BittFileWriter {
public:
    // contents.fingerprint is ignored (commit() takes it). Throws Error(TTT_ERR_INVALID_ARGUMENT) on a bad directory,
    // Error(TTT_ERR_IO) when the temp file cannot be created.
    BittFileWriter(const std::string& path, BittContents contents, std::vector<TensorSpec> tensors,
                   std::map<std::string, std::string> metadata);
    ~BittFileWriter();
    BittFileWriter(const BittFileWriter&) = delete;
    BittFileWriter& operator=(const BittFileWriter&) = delete;

    // The tensor whose bytes come next (tensors go in layout order: widest element type first), or nullptr when
    // every tensor has been written.
    const TensorSpec* next() const;
    size_t next_index() const;  // its index among the specs given, or kDone
    static constexpr size_t kDone = size_t(-1);
    // The next tensor's bytes, all at once or in consecutive pieces. Throws Error(TTT_ERR_INVALID_ARGUMENT) when they
    // overrun the tensor or every tensor is already written.
    void write(const void* data, size_t n_bytes);
    // Every tensor written: the header gets the body checksum and `fingerprint`, then fsync and rename.
    void commit(uint64_t fingerprint);

private:
    BittContents contents_;
    std::vector<TensorSpec> tensors_;
    SafetensorsLayout layout_;
    std::unique_ptr<AtomicFileWriter> file_;
    size_t at_ = 0;           // index into layout_.order of the tensor being written
    size_t written_in_ = 0;   // bytes of it written so far
    uint32_t body_crc_ = 0;
    std::string path_;
};

}  // namespace ttt
