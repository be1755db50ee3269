// Library logging: every message goes through the callback set by ttt_log_set (default: stderr, WARN and up).
#pragma once

#include <string>

#include "bit_ttt.h"

namespace ttt {

void log_message(int32_t level, const std::string& message);
inline void log_warn(const std::string& m) { log_message(TTT_LOG_WARN, m); }
inline void log_info(const std::string& m) { log_message(TTT_LOG_INFO, m); }

void set_log_callback(ttt_log_callback cb, int32_t min_level, void* user_data);

}  // namespace ttt
