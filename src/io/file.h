// Reading whole files and writing files crash-safely (temp file in the same directory, fsync, rename, fsync dir).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ttt {

// Read a whole file. Throws Error(TTT_ERR_IO) naming the path and the OS reason.
std::vector<uint8_t> read_file(const std::string& path);

// Replace `path` with `bytes` so that a crash or a failure at any point leaves either the old file or the new one,
// never a mix: write <path>.tmp.<pid>, fsync, rename over path, fsync the directory. On failure the temp file is
// removed, the old file is untouched, and Error(TTT_ERR_IO) is thrown.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);
inline void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
    write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::string& text) {
    write_file_atomic(path, text.data(), text.size());
}

bool is_directory(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace ttt
