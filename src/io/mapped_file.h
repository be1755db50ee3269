// The bytes of a model file, memory-mapped read-only where the platform allows (POSIX mmap), else read into memory.
// A mapping is shared by every process that maps the same file (the page cache holds one copy), and weights whose
// stored layout a backend uses as it is point straight into it (zero copy). Everything pointing into the bytes
// keeps `owner` alive.
//
// Caveat of every mapped loader (llama.cpp's too): a file truncated by another program while mapped makes a later
// read of a vanished page fault (SIGBUS). Model files are replaced, not rewritten in place, by our own writers
// (write temp, rename), which leaves an existing mapping intact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ttt {

struct FileBytes {
    const uint8_t* data = nullptr;
    size_t size = 0;
    std::shared_ptr<const void> owner;  // the mapping or the buffer
    bool mapped = false;
};

// Map `path` read-only (or read it when it cannot be mapped: empty files, pipes, platforms without mmap).
// Throws Error(TTT_ERR_IO) naming the path and the OS reason.
FileBytes map_file(const std::string& path);

// Take ownership of bytes already in memory.
FileBytes own_bytes(std::vector<uint8_t> bytes);

}  // namespace ttt
