// Helpers shared by the tests: paths to test data, temp directories, file reading.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace ttt_test {

inline std::filesystem::path test_data_dir() { return TTT_TEST_DATA_DIR; }
inline std::filesystem::path shared_data_dir() { return TTT_SHARED_DATA_DIR; }

// True when ../shared/data is present (CI always; a user's machine maybe not). Tests that need it skip with a message.
inline bool have_shared_data() {
    bool ok = std::filesystem::exists(shared_data_dir() / "tinyshakespeare.txt");
    if (!ok) std::fprintf(stderr, "note: %s is absent; skipping tests that need the shared corpus\n",
                          shared_data_dir().string().c_str());
    return ok;
}

// A fresh directory under the system temp dir, removed when the object dies.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("ttt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace ttt_test
