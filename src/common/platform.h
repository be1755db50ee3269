// The few system calls outside the file layer (src/io/file.h) that differ between POSIX and Windows.
#pragma once

#include <ctime>

namespace ttt {

// Broken-down local and UTC time, thread-safe. False when the time cannot be represented.
inline bool local_time(std::time_t t, std::tm* out) {
#ifdef _WIN32
    return localtime_s(out, &t) == 0;
#else
    return localtime_r(&t, out) != nullptr;
#endif
}
inline bool utc_time(std::time_t t, std::tm* out) {
#ifdef _WIN32
    return gmtime_s(out, &t) == 0;
#else
    return gmtime_r(&t, out) != nullptr;
#endif
}

}  // namespace ttt
