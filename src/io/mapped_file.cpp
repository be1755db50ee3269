#include "io/mapped_file.h"

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "io/file.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace ttt {

FileBytes own_bytes(std::vector<uint8_t> bytes) {
    auto holder = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    FileBytes f;
    f.data = holder->data();
    f.size = holder->size();
    f.owner = std::move(holder);
    return f;
}

#if defined(_WIN32)

FileBytes map_file(const std::string& path) { return own_bytes(read_file(path)); }

#else

namespace {

struct Mapping {
    void* addr = nullptr;
    size_t size = 0;
    ~Mapping() {
        if (addr) ::munmap(addr, size);
    }
};

}  // namespace

FileBytes map_file(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; a model is a regular file, and nothing else is read.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) fail_io("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        fail_io("cannot stat '" + path + "': " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail_io("'" + path + "' is " + (S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe" : "a device or special file") +
                ", not a regular file");
    }
    if (st.st_size <= 0) {
        ::close(fd);
        return own_bytes({});  // empty: the format readers say what is missing
    }
    auto m = std::make_shared<Mapping>();
    m->size = static_cast<size_t>(st.st_size);
    void* addr = ::mmap(nullptr, m->size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);  // the mapping keeps the file
    if (addr == MAP_FAILED) return own_bytes(read_file(path));
    m->addr = addr;
    FileBytes f;
    f.data = static_cast<const uint8_t*>(addr);
    f.size = m->size;
    f.owner = std::move(m);
    f.mapped = true;
    return f;
}

#endif

}  // namespace ttt
