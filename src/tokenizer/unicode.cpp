// Unicode class lookup (generated range table + BMP cache), white space, UTF-8 helpers.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <memory>

namespace ttt::unicode {
namespace detail {
// Defined in the generated unicode_table.cpp.
extern const uint32_t kClassStarts[];
extern const uint8_t kClassValues[];
extern const size_t kClassCount;
}  // namespace detail

namespace {

Class class_by_search(uint32_t cp) {
    const uint32_t* begin = detail::kClassStarts;
    const uint32_t* end = detail::kClassStarts + detail::kClassCount;
    const uint32_t* it = std::upper_bound(begin, end, cp);  // first start > cp; the range before it holds cp
    return static_cast<Class>(detail::kClassValues[(it - begin) - 1]);
}

// One byte per BMP code point (64 KiB), built once on first use: the hot path of pre-tokenization.
const uint8_t* bmp_table() {
    static const std::unique_ptr<uint8_t[]> table = [] {
        std::unique_ptr<uint8_t[]> t(new uint8_t[0x10000]);
        size_t r = 0;
        for (uint32_t cp = 0; cp < 0x10000; ++cp) {
            while (r + 1 < detail::kClassCount && detail::kClassStarts[r + 1] <= cp) ++r;
            t[cp] = detail::kClassValues[r];
        }
        return t;
    }();
    return table.get();
}

}  // namespace

Class class_of(uint32_t cp) {
    if (cp < 0x10000) return static_cast<Class>(bmp_table()[cp]);
    if (cp > 0x10FFFF) return Class::Other;  // pseudo code points of invalid bytes
    return class_by_search(cp);
}

bool is_white_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    switch (cp) {
        case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
            return true;
        default:
            return cp >= 0x2000 && cp <= 0x200A;
    }
}

bool is_word_char(uint32_t cp) {
    if (cp == 0x200C || cp == 0x200D) return true;
    Class c = class_of(cp);
    return c == Class::Letter || c == Class::Mark || c == Class::DecimalNumber || c == Class::LetterNumber ||
           c == Class::ConnectorPunct;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (is_invalid(cp)) {
        out.push_back(static_cast<char>(cp - kInvalidBase));
    } else if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        Decoded d = decode(s.data(), s.size(), i);
        if (is_invalid(d.cp)) return false;
        i += d.len;
    }
    return true;
}

namespace {
// Length of the longest prefix of s[i..] that could start a valid sequence (the "maximal subpart", >= 1).
size_t maximal_subpart(const unsigned char* p, size_t n, size_t i) {
    unsigned c0 = p[i];
    size_t need = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c0 >= 0xC2 && c0 <= 0xDF) need = 1;
    else if (c0 == 0xE0) need = 2, lo = 0xA0;
    else if (c0 >= 0xE1 && c0 <= 0xEC) need = 2;
    else if (c0 == 0xED) need = 2, hi = 0x9F;
    else if (c0 >= 0xEE && c0 <= 0xEF) need = 2;
    else if (c0 == 0xF0) need = 3, lo = 0x90;
    else if (c0 >= 0xF1 && c0 <= 0xF3) need = 3;
    else if (c0 == 0xF4) need = 3, hi = 0x8F;
    else return 1;
    size_t k = 1;
    if (i + k < n && p[i + k] >= lo && p[i + k] <= hi) {
        ++k;
        while (k <= need && i + k < n && (p[i + k] & 0xC0) == 0x80) ++k;
    }
    return k;
}
}  // namespace

std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (size_t i = 0; i < s.size();) {
        Decoded d = decode(s.data(), s.size(), i);
        if (!is_invalid(d.cp)) {
            out.append(s.data() + i, d.len);
            i += d.len;
        } else {
            out.append("\xEF\xBF\xBD");
            i += maximal_subpart(p, s.size(), i);
        }
    }
    return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    if (from.empty()) return std::string(s);
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    for (size_t k; (k = s.find(from, i)) != std::string_view::npos; i = k + from.size()) {
        out.append(s.substr(i, k - i));
        out.append(to);
    }
    out.append(s.substr(i));
    return out;
}

}  // namespace ttt::unicode
