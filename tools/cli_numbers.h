// Strict number parsing for command-line options and chat commands: the whole text must be one number inside the
// option's range, and a refusal names the option and its range ("--top-k must be an integer in [0, 2147483647],
// got '-3'"). Nothing is converted outside its type's range (no wrapping, no undefined float-to-int casts).
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace cli {

inline std::string range_text(long double lo, long double hi) {
    auto num = [](long double v) {
        char b[48];
        std::snprintf(b, sizeof b, "%.10Lg", v);
        return std::string(b);
    };
    return "[" + num(lo) + ", " + num(hi) + "]";
}

// An integer in [lo, hi]. Returns "" on success, else the message.
inline std::string parse_int(const std::string& name, const std::string& text, long long lo, long long hi, long long* out) {
    const std::string refusal = name + " must be an integer in " + range_text(lo, hi) + ", got '" + text + "'";
    if (text.empty() || text.find_first_of(" \t\n") != std::string::npos) return refusal;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return refusal;
    *out = v;
    return "";
}

// An unsigned 64-bit integer (seeds): digits only, no sign.
inline std::string parse_u64(const std::string& name, const std::string& text, uint64_t* out) {
    const std::string refusal = name + " must be an integer in [0, 18446744073709551615], got '" + text + "'";
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return refusal;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return refusal;
    *out = v;
    return "";
}

// A finite number in [lo, hi].
inline std::string parse_float(const std::string& name, const std::string& text, double lo, double hi, double* out) {
    const std::string refusal = name + " must be a number in " + range_text(lo, hi) + ", got '" + text + "'";
    if (text.empty() || text.find_first_of(" \t\n") != std::string::npos) return refusal;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (*end != '\0' || !std::isfinite(v) || v < lo || v > hi) return refusal;
    *out = v;
    return "";
}

}  // namespace cli
