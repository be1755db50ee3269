// The file layer on POSIX systems (Linux, macOS, Android). Windows: file_win32.cpp.
#ifndef _WIN32
#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace ttt {

namespace {

std::string os_reason() { return std::strerror(errno); }

std::string parent_directory(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Closes a descriptor on scope exit unless released.
struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
    Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd < 0) fail_io("cannot open '" + path + "': " + os_reason());
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail_io("cannot stat '" + path + "': " + os_reason());
    if (S_ISDIR(st.st_mode)) fail_io("'" + path + "' is a directory, expected a file");
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<size_t>(st.st_size));
    uint8_t chunk[1 << 16];
    for (;;) {
        ssize_t n = ::read(f.fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_io("cannot read '" + path + "': " + os_reason());
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), chunk, chunk + n);
    }
    return bytes;
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
    if (path.empty()) fail_argument("empty file path");
    // Unique per process and per save, so concurrent saves to one path never share a temp file; O_EXCL refuses
    // to reuse anything already there.
    static std::atomic<uint64_t> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (f.fd < 0) fail_io("cannot create '" + tmp + "': " + os_reason());
    auto abandon = [&](const std::string& what) {
        std::string reason = os_reason();
        ::close(f.fd);
        f.fd = -1;
        ::unlink(tmp.c_str());
        fail_io("cannot " + what + " '" + tmp + "' (saving '" + path + "'; the old file is intact): " + reason);
    };
    const uint8_t* p = static_cast<const uint8_t*>(bytes);
    size_t left = size;
    while (left > 0) {
        ssize_t n = ::write(f.fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            abandon("write");
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) abandon("fsync");
    if (::close(f.fd) != 0) {
        f.fd = -1;
        std::string reason = os_reason();
        ::unlink(tmp.c_str());
        fail_io("cannot close '" + tmp + "': " + reason);
    }
    f.fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string reason = os_reason();
        ::unlink(tmp.c_str());
        fail_io("cannot rename '" + tmp + "' to '" + path + "': " + reason);
    }
    // Make the rename itself durable. A directory that cannot be opened or synced (some file systems) leaves the
    // new file in place and complete; only its durability across a power cut is weaker, so it is not an error.
    Fd dir(::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd >= 0) ::fsync(dir.fd);
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void append_line_durable(const std::string& path, std::string line) {
    Fd f(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (f.fd < 0) fail_io("cannot open '" + path + "': " + os_reason());
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail_io("cannot stat '" + path + "': " + os_reason());
    if (st.st_size > 0) {
        char last = 0;
        if (::pread(f.fd, &last, 1, st.st_size - 1) != 1) fail_io("cannot read '" + path + "': " + os_reason());
        if (last != '\n') line.insert(line.begin(), '\n');
    }
    // One write: with O_APPEND the kernel places it at the end as a unit.
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(f.fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_io("cannot append to '" + path + "': " + os_reason());
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) fail_io("cannot fsync '" + path + "': " + os_reason());
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) fail_io("cannot close '" + path + "': " + os_reason());
    if (st.st_size == 0) {  // the file may be new: make its directory entry durable too
        Fd dir(::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (dir.fd >= 0) ::fsync(dir.fd);
    }
}

void make_directory(const std::string& path) {
    if (::mkdir(path.c_str(), 0755) != 0 && !(errno == EEXIST && is_directory(path)))
        fail_io("cannot create directory '" + path + "': " + os_reason());
}

std::filesystem::path to_fs_path(const std::string& utf8_path) { return std::filesystem::path(utf8_path); }

std::string from_fs_path(const std::filesystem::path& path) { return path.string(); }

std::FILE* open_c_file(const std::string& utf8_path, const char* mode) { return std::fopen(utf8_path.c_str(), mode); }

}  // namespace ttt
#endif  // !_WIN32
