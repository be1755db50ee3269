// The file layer on Windows. UTF-8 paths become wide-character names (CreateFileW, _wfopen), so any Unicode path
// works whatever the user's ANSI code page; crash-safe replacement is write temp + FlushFileBuffers + MoveFileExW.
// POSIX systems: file.cpp.
#ifdef _WIN32
#include "io/file.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cwchar>

#include "common/error.h"

namespace ttt {

namespace {

// UTF-8 -> UTF-16. Invalid UTF-8 is refused rather than turned into a different file name.
std::wstring widen(const std::string& utf8) {
    if (utf8.empty()) return std::wstring();
    if (utf8.size() > static_cast<size_t>(INT32_MAX)) fail_argument("path too long");
    const int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                                      nullptr, 0);
    if (n <= 0) fail_argument("path '" + utf8 + "' is not valid UTF-8");
    std::wstring wide(static_cast<size_t>(n), L'\0');
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()), &wide[0], n);
    return wide;
}

std::string narrow(const std::wstring& wide) {
    if (wide.empty()) return std::string();
    const int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0, nullptr,
                                      nullptr);
    if (n <= 0) return std::string();
    std::string utf8(static_cast<size_t>(n), '\0');
    WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), &utf8[0], n, nullptr, nullptr);
    return utf8;
}

// The system's text for a GetLastError() code, in UTF-8, with the number (messages may be localized).
std::string os_reason(DWORD code) {
    wchar_t* text = nullptr;
    const DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                       FORMAT_MESSAGE_IGNORE_INSERTS,
                                   nullptr, code, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
    std::string message;
    if (n > 0 && text) {
        std::wstring w(text, n);
        while (!w.empty() && (w.back() == L'\r' || w.back() == L'\n' || w.back() == L'.' || w.back() == L' '))
            w.pop_back();
        message = narrow(w);
    }
    if (text) LocalFree(text);
    return (message.empty() ? std::string("system error") : message) + " (Windows error " + std::to_string(code) + ")";
}
std::string os_reason() { return os_reason(GetLastError()); }

// Closes a handle on scope exit unless released.
struct Handle {
    HANDLE h = INVALID_HANDLE_VALUE;
    explicit Handle(HANDLE x) : h(x) {}
    ~Handle() {
        if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    }
    bool ok() const { return h != INVALID_HANDLE_VALUE; }
};

DWORD attributes(const std::string& path) {
    try {
        return GetFileAttributesW(widen(path).c_str());
    } catch (const Error&) {
        return INVALID_FILE_ATTRIBUTES;  // not valid UTF-8: no such file
    }
}

// Writes all of [p, p+n), in pieces WriteFile can take. Returns false with GetLastError() set on failure.
bool write_all(HANDLE h, const uint8_t* p, size_t n) {
    while (n > 0) {
        const DWORD piece = n > (1u << 30) ? (1u << 30) : static_cast<DWORD>(n);
        DWORD written = 0;
        if (!WriteFile(h, p, piece, &written, nullptr)) return false;
        p += written;
        n -= written;
    }
    return true;
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
    if (is_directory(path)) fail_io("'" + path + "' is a directory, expected a file");
    Handle f(CreateFileW(widen(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, nullptr));
    if (!f.ok()) fail_io("cannot open '" + path + "': " + os_reason());
    LARGE_INTEGER size{};
    if (!GetFileSizeEx(f.h, &size)) fail_io("cannot stat '" + path + "': " + os_reason());
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<size_t>(size.QuadPart));
    uint8_t chunk[1 << 16];
    for (;;) {
        DWORD n = 0;
        if (!ReadFile(f.h, chunk, sizeof chunk, &n, nullptr)) fail_io("cannot read '" + path + "': " + os_reason());
        if (n == 0) break;
        bytes.insert(bytes.end(), chunk, chunk + n);
    }
    return bytes;
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
    if (path.empty()) fail_argument("empty file path");
    static std::atomic<uint64_t> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(GetCurrentProcessId()) + "." +
                            std::to_string(counter.fetch_add(1));
    const std::wstring wtmp = widen(tmp), wpath = widen(path);
    // CREATE_NEW refuses to reuse anything already there; no sharing while it is being written.
    Handle f(CreateFileW(wtmp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!f.ok()) fail_io("cannot create '" + tmp + "': " + os_reason());
    auto abandon = [&](const std::string& what) {
        const std::string reason = os_reason();
        CloseHandle(f.h);
        f.h = INVALID_HANDLE_VALUE;
        DeleteFileW(wtmp.c_str());
        fail_io("cannot " + what + " '" + tmp + "' (saving '" + path + "'; the old file is intact): " + reason);
    };
    if (!write_all(f.h, static_cast<const uint8_t*>(bytes), size)) abandon("write");
    if (!FlushFileBuffers(f.h)) abandon("flush");
    const HANDLE h = f.h;
    f.h = INVALID_HANDLE_VALUE;
    if (!CloseHandle(h)) {
        const std::string reason = os_reason();
        DeleteFileW(wtmp.c_str());
        fail_io("cannot close '" + tmp + "': " + reason);
    }
    // Replaces an existing file in one step; WRITE_THROUGH returns only once the rename is on disk.
    if (!MoveFileExW(wtmp.c_str(), wpath.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        const std::string reason = os_reason();
        DeleteFileW(wtmp.c_str());
        fail_io("cannot rename '" + tmp + "' to '" + path + "' (the old file is intact): " + reason);
    }
}

void append_line_durable(const std::string& path, std::string line) {
    // FILE_APPEND_DATA without FILE_WRITE_DATA: every write goes to the current end of the file, as one unit.
    Handle f(CreateFileW(widen(path).c_str(), GENERIC_READ | FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!f.ok()) fail_io("cannot open '" + path + "': " + os_reason());
    LARGE_INTEGER size{};
    if (!GetFileSizeEx(f.h, &size)) fail_io("cannot stat '" + path + "': " + os_reason());
    if (size.QuadPart > 0) {
        LARGE_INTEGER at{};
        at.QuadPart = size.QuadPart - 1;
        char last = 0;
        DWORD n = 0;
        if (!SetFilePointerEx(f.h, at, nullptr, FILE_BEGIN) || !ReadFile(f.h, &last, 1, &n, nullptr) || n != 1)
            fail_io("cannot read '" + path + "': " + os_reason());
        if (last != '\n') line.insert(line.begin(), '\n');
    }
    if (!write_all(f.h, reinterpret_cast<const uint8_t*>(line.data()), line.size()))
        fail_io("cannot append to '" + path + "': " + os_reason());
    if (!FlushFileBuffers(f.h)) fail_io("cannot flush '" + path + "': " + os_reason());
}

bool is_directory(const std::string& path) {
    const DWORD a = attributes(path);
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

bool file_exists(const std::string& path) {
    const DWORD a = attributes(path);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

void make_directory(const std::string& path) {
    if (!CreateDirectoryW(widen(path).c_str(), nullptr)) {
        const DWORD code = GetLastError();
        if (code == ERROR_ALREADY_EXISTS && is_directory(path)) return;
        fail_io("cannot create directory '" + path + "': " + os_reason(code));
    }
}

std::filesystem::path to_fs_path(const std::string& utf8_path) { return std::filesystem::path(widen(utf8_path)); }

std::string from_fs_path(const std::filesystem::path& path) { return narrow(path.wstring()); }

std::FILE* open_c_file(const std::string& utf8_path, const char* mode) {
    try {
        return _wfopen(widen(utf8_path).c_str(), widen(mode).c_str());
    } catch (const Error&) {
        errno = EINVAL;
        return nullptr;
    }
}

}  // namespace ttt
#endif  // _WIN32
