#include "io/atomic_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "io/file.h"

namespace ttt {

namespace {

std::string os_reason() { return std::strerror(errno); }

std::string parent_directory(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path) {
    if (path.empty()) fail_argument("empty output path");
    fd_ = create_temp_file(path, &tmp_);  // the same temp naming and stale-file cleanup as every save
    buffer_.reserve(size_t(1) << 20);
}

AtomicFileWriter::~AtomicFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFileWriter::fail(const std::string& what) {
    std::string reason = os_reason();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
    fail_io("cannot " + what + " '" + tmp_ + "' (saving '" + path_ + "'; the old file is intact): " + reason);
}

void AtomicFileWriter::write_through(const uint8_t* p, size_t left) {
    while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
}

void AtomicFileWriter::flush_buffer() {
    write_through(buffer_.data(), buffer_.size());
    buffer_.clear();
}

void AtomicFileWriter::write(const void* data, size_t size) {
    if (fd_ < 0 || committed_) throw Error(TTT_ERR_INVALID_STATE, "write to '" + path_ + "' after commit or failure");
    const uint8_t* p = static_cast<const uint8_t*>(data);
    const size_t cap = buffer_.capacity();
    if (buffer_.size() + size > cap) flush_buffer();
    if (size >= cap) {
        write_through(p, size);  // large write (a tensor of a streamed model): from the caller's bytes, no copy
    } else {
        buffer_.insert(buffer_.end(), p, p + size);
    }
    written_ += size;
}

void AtomicFileWriter::write_at(uint64_t offset, const void* data, size_t size) {
    if (fd_ < 0 || committed_) throw Error(TTT_ERR_INVALID_STATE, "write to '" + path_ + "' after commit or failure");
    if (offset > written_ || size > written_ - offset)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "write_at past the bytes written to '" + path_ + "'");
    flush_buffer();
    const uint8_t* p = static_cast<const uint8_t*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd_, p, size, off_t(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write");
        }
        p += n;
        offset += uint64_t(n);
        size -= size_t(n);
    }
}

void AtomicFileWriter::commit() {
    if (fd_ < 0 || committed_) throw Error(TTT_ERR_INVALID_STATE, "commit of '" + path_ + "' after commit or failure");
    flush_buffer();
    if (::fsync(fd_) != 0) fail("fsync");
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        std::string reason = os_reason();
        ::unlink(tmp_.c_str());
        fail_io("cannot close '" + tmp_ + "' (saving '" + path_ + "'; the old file is intact): " + reason);
    }
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        std::string reason = os_reason();
        ::unlink(tmp_.c_str());
        fail_io("cannot rename '" + tmp_ + "' to '" + path_ + "' (the old file is intact): " + reason);
    }
    committed_ = true;
    int dir = ::open(parent_directory(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

}  // namespace ttt
