// Reading whole files and writing files crash-safely (temp file in the same directory, fsync, rename, fsync dir).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ttt {

// The largest file read_file reads (a model of this SDK's limits is far smaller; the cap stops a hostile path such as
// a huge sparse file from exhausting memory).
constexpr uint64_t kMaxReadFileBytes = uint64_t(64) << 30;

// Read a whole regular file. Throws Error(TTT_ERR_IO) naming the path and the OS reason, or saying what the path is
// instead (a directory, a FIFO, a device).
std::vector<uint8_t> read_file(const std::string& path);

// "" when path is a regular file or does not exist; otherwise "'path' is a FIFO (named pipe), not a regular file".
std::string not_a_regular_file(const std::string& path);

// Replace `path` with `bytes` so that a crash or a failure at any point leaves either the old file or the new one,
// never a mix: write <path>.tmp.<pid>.<n>, fsync, rename over path, fsync the directory. On failure the temp file
// is removed, the old file is untouched, and Error(TTT_ERR_IO) is thrown. Temp files left next to path by processes
// that were killed during a save are removed first.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);
inline void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
    write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::string& text) {
    write_file_atomic(path, text.data(), text.size());
}

// The first step of every crash-safe save (write_file_atomic, streamed writers): removes the temp files that killed
// processes left next to `path`, then creates and opens <path>.tmp.<pid>.<n> with O_EXCL; returns the descriptor and
// sets *tmp_path. Throws Error(TTT_ERR_IO).
int create_temp_file(const std::string& path, std::string* tmp_path);

// Removes <path>.tmp.<pid>[.<n>] files next to path whose process no longer exists.
void remove_stale_temp_files(const std::string& path);

bool is_directory(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace ttt
