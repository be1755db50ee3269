// A memories day file (JSONL) read back (read_memories) and turned into the sleep replay (build_replay) with
// options taken from the first bytes. Lines that are not valid turns must be skipped, never crash.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "fuzz_common.h"
#include "memory/memories.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::quiet_logs();
    static const std::string dir = [] {
        const auto d = std::filesystem::temp_directory_path() / ("ttt_fuzz_memories_" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d.string();
    }();
    if (size < 2) return 0;
    {
        std::ofstream f(dir + "/2026-01-01.jsonl", std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(data + 2), std::streamsize(size - 2));
    }
    try {
        const auto days = ttt::read_memories(dir);
        ttt::ReplayOptions opt;
        opt.max_days = data[0] % 4;
        opt.random_days = data[0] & 4;
        opt.seed = data[1];
        opt.max_piece_chars = 1 + data[1] % 64;
        opt.max_total_chars = (data[0] & 8) ? 100 : 0;
        for (const std::string& piece : ttt::build_replay(days, opt))
            if (piece.empty()) __builtin_trap();
    } catch (const ttt::Error&) {
    }
    return 0;
}
