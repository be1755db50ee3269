// POSIX only, like create_temp_file (io/file.h): the streamed writers of the bit-ttt program (training data,
// checkpoints, converted models), which Windows builds of the library leave out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ttt {

// A file written as a stream and committed crash-safely: <path>.tmp.<pid> opened exclusively, buffered writes,
// commit() = flush + fsync + rename onto path + fsync of the directory. Destroyed without commit (or after any
// failure) the temp file is removed and `path` is untouched. Failures throw Error(TTT_ERR_IO) naming the path.
class AtomicFileWriter {
public:
    explicit AtomicFileWriter(const std::string& path);
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t size);
    // Overwrite bytes already written (offset + size ≤ bytes_written()): a header whose checksums are known last.
    void write_at(uint64_t offset, const void* data, size_t size);
    void commit();
    uint64_t bytes_written() const { return written_; }
    const std::string& path() const { return path_; }

private:
    void flush_buffer();
    void write_through(const uint8_t* data, size_t size);  // straight to the file, unbuffered
    void fail(const std::string& what);
    std::string path_, tmp_;
    int fd_ = -1;
    bool committed_ = false;
    uint64_t written_ = 0;
    std::vector<uint8_t> buffer_;
};

}  // namespace ttt
