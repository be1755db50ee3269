// The file layer on POSIX systems (Linux, macOS, Android). Windows: file_win32.cpp.
#ifndef _WIN32
#include "io/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
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

// Temp files are named <file name>.tmp.<pid>.<n>. Those of a process that no longer exists are leftovers of a save
// that was killed midway; the next save to the same path removes them. A live process's are never touched (it may
// be saving right now), nor are our own (another thread may be).
void remove_stale_temp_files(const std::string& path) {
    const std::string dir = parent_directory(path);
    const size_t slash = path.find_last_of('/');
    const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = name.substr(prefix.size());  // "<pid>.<n>" (or "<pid>" from older builds)
        const size_t dot = std::min(rest.find('.'), rest.size());
        if (dot == 0 || dot > 9 || dot + 1 == rest.size() ||
            rest.find_first_not_of("0123456789.") != std::string::npos || rest.find('.', dot + 1) != std::string::npos)
            continue;
        const long pid = std::stol(rest.substr(0, dot));
        if (pid <= 0 || pid == long(::getpid())) continue;
        if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
        ::unlinkat(::dirfd(d), name.c_str(), 0);
    }
    ::closedir(d);
}

namespace {

const char* file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

std::string not_a_regular_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return "";
    return "'" + path + "' is " + file_kind(st.st_mode) + ", not a regular file";
}

std::vector<uint8_t> read_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (f.fd < 0) fail_io("cannot open '" + path + "': " + os_reason());
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail_io("cannot stat '" + path + "': " + os_reason());
    if (!S_ISREG(st.st_mode)) fail_io("'" + path + "' is " + file_kind(st.st_mode) + ", expected a regular file");
    if (uint64_t(st.st_size) > kMaxReadFileBytes)
        fail_io("'" + path + "' is " + std::to_string(st.st_size) + " bytes, more than the " +
                std::to_string(kMaxReadFileBytes >> 30) + " GiB limit on files this library reads");
    ::fcntl(f.fd, F_SETFL, 0);
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

int create_temp_file(const std::string& path, std::string* tmp_path) {
    if (path.empty()) fail_argument("empty file path");
    remove_stale_temp_files(path);
    // Unique per process and per save, so concurrent saves to one path never share a temp file; O_EXCL refuses
    // to reuse anything already there.
    static std::atomic<uint64_t> counter{0};
    *tmp_path = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    const int fd = ::open(tmp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail_io("cannot create '" + *tmp_path + "' (to save '" + path + "'; nothing was changed): " + os_reason());
    return fd;
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
    std::string tmp;
    Fd f(create_temp_file(path, &tmp));
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
            // A partial write (a full disk, a file size limit) would leave a torn line: cut the file back.
            const std::string reason = os_reason();
            const bool restored = ::ftruncate(f.fd, st.st_size) == 0;
            fail_io("cannot append to '" + path + "': " + reason +
                    (restored ? " (the file is as it was)" : " (and it could not be cut back: the last line may be torn)"));
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
