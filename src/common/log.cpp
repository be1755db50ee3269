#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace ttt {

namespace {

struct LogState {
    std::mutex mutex;
    ttt_log_callback callback = nullptr;
    int32_t min_level = TTT_LOG_WARN;
    void* user_data = nullptr;
};

LogState& state() {
    static LogState s;
    return s;
}

const char* level_name(int32_t level) {
    switch (level) {
        case TTT_LOG_DEBUG: return "debug";
        case TTT_LOG_INFO: return "info";
        case TTT_LOG_WARN: return "warning";
        default: return "error";
    }
}

}  // namespace

void log_message(int32_t level, const std::string& message) {
    LogState& s = state();
    ttt_log_callback cb;
    void* user;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (level < s.min_level) return;
        cb = s.callback;
        user = s.user_data;
    }
    // Called without the lock, so a callback may log or call ttt_log_set itself.
    if (cb) cb(level, message.c_str(), user);
    else std::fprintf(stderr, "bit_ttt %s: %s\n", level_name(level), message.c_str());
}

void set_log_callback(ttt_log_callback cb, int32_t min_level, void* user_data) {
    LogState& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.callback = cb;
    s.min_level = cb ? min_level : TTT_LOG_WARN;
    s.user_data = user_data;
}

}  // namespace ttt
