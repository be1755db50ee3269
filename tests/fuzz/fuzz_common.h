// Shared by the libFuzzer targets: quiet logging (a warning per malformed line would dominate the run time) and the
// paths of committed test data (TTT_SOURCE_DIR is set by tests/fuzz/CMakeLists.txt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bit_ttt.h"

namespace fuzz {

inline void quiet_logs() {
    static bool done = false;
    if (done) return;
    ttt_log_set([](int32_t, const char*, void*) {}, TTT_LOG_ERROR, nullptr);
    done = true;
}

inline std::string source_path(const std::string& relative) { return std::string(TTT_SOURCE_DIR) + "/" + relative; }

// Every call must end in TTT_OK or a documented error; TTT_ERR_PANIC means an exception escaped the parser's own
// checks (a bug), so the fuzzer treats it as a crash.
inline void check_status(ttt_status s) {
    if (s == TTT_ERR_PANIC) __builtin_trap();
}

}  // namespace fuzz
