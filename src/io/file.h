// The file layer: every byte the library reads from or writes to a file goes through here, so that paths and
// crash safety work the same on Linux and Windows. Paths are UTF-8 everywhere; on Windows they reach the system as
// wide-character (UTF-16) names (file_win32.cpp), elsewhere as the same bytes (file.cpp).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace ttt {

// Read a whole file. Throws Error(TTT_ERR_IO) naming the path and the OS reason.
std::vector<uint8_t> read_file(const std::string& path);

// Replace `path` with `bytes` so that a crash or a failure at any point leaves either the old file or the new one,
// never a mix: write <path>.tmp.<pid>.<n>, flush it to disk (fsync / FlushFileBuffers), rename it over path
// (rename / MoveFileExW with MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH), then sync the directory where the
// system allows it. On failure the temp file is removed, the old file is untouched, and Error(TTT_ERR_IO) is thrown.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);
inline void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
    write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::string& text) {
    write_file_atomic(path, text.data(), text.size());
}

// Append one text line (ending in '\n') to path, creating the file, as a single append-mode write followed by a
// flush to disk, so lines of two writers never interleave and a returned call survives a crash. If the file's last
// byte is not '\n' (a line torn by an earlier crash), a '\n' goes first so the new line is never glued onto it.
// Throws Error(TTT_ERR_IO).
void append_line_durable(const std::string& path, std::string line);

bool is_directory(const std::string& path);
bool file_exists(const std::string& path);

// Create one directory (its parent must exist). An existing directory is fine. Throws Error(TTT_ERR_IO).
void make_directory(const std::string& path);

// A UTF-8 path as a std::filesystem::path (wide characters on Windows, where std::filesystem::path(std::string)
// would read the bytes in the ANSI code page), and back to UTF-8.
std::filesystem::path to_fs_path(const std::string& utf8_path);
std::string from_fs_path(const std::filesystem::path& path);

// std::fopen with a UTF-8 path (_wfopen on Windows). Returns nullptr with errno set on failure, like fopen.
std::FILE* open_c_file(const std::string& utf8_path, const char* mode);

}  // namespace ttt
