// UTF-8 decoding that never fails, Unicode classes for the pre-tokenizer patterns, and lossy UTF-8 repair.
//
// Invalid input policy (used by the whole tokenizer): a byte that does not start a valid UTF-8 sequence (stray
// continuation byte, overlong form, surrogate, > U+10FFFF, truncated sequence) decodes to one pseudo code point
// kInvalidBase + byte, of class Other and not white space. Encoding therefore never throws on bad text, and because
// the pseudo code point remembers its byte, byte-level and byte-fallback models encode the raw bytes losslessly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ttt::unicode {

// Pseudo code points for invalid bytes: kInvalidBase + byte value (never a real code point).
constexpr uint32_t kInvalidBase = 0x110000;
inline bool is_invalid(uint32_t cp) { return cp >= kInvalidBase; }

// General-category classes, as far as the split patterns and \w need them. Numbers match the generated table.
enum class Class : uint8_t {
    Other = 0,
    Letter = 1,          // \p{L}
    Mark = 2,            // \p{M}
    DecimalNumber = 3,   // \p{Nd}
    LetterNumber = 4,    // \p{Nl}
    OtherNumber = 5,     // \p{No}
    ConnectorPunct = 6,  // \p{Pc}
};

Class class_of(uint32_t cp);
inline bool is_letter(uint32_t cp) { return class_of(cp) == Class::Letter; }
inline bool is_number(uint32_t cp) {
    Class c = class_of(cp);
    return c == Class::DecimalNumber || c == Class::LetterNumber || c == Class::OtherNumber;
}
// Unicode White_Space: what \s means in Oniguruma (HF's regex engine) and Rust's char::is_whitespace.
bool is_white_space(uint32_t cp);
// Rust regex's Unicode \w, approximated by categories (L, M, Nd, Nl, Pc, ZWNJ/ZWJ).
bool is_word_char(uint32_t cp);

struct Decoded {
    uint32_t cp;   // code point, or kInvalidBase + byte
    uint32_t len;  // bytes consumed (1..4)
};

// Decode the code point starting at s[i] (i < n). Never reads past n.
inline Decoded decode(const char* s, size_t n, size_t i) {
    const auto* p = reinterpret_cast<const unsigned char*>(s);
    unsigned c0 = p[i];
    if (c0 < 0x80) return {c0, 1};
    auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        if (cont(1)) return {((c0 & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu), 2};
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
        if (cont(1) && cont(2)) {
            uint32_t cp = ((c0 & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
            if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3};
        }
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        if (cont(1) && cont(2) && cont(3)) {
            uint32_t cp = ((c0 & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |
                          (p[i + 3] & 0x3Fu);
            if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4};
        }
    }
    return {kInvalidBase + c0, 1};
}

// Append the UTF-8 encoding of a real code point (pseudo code points append their raw byte).
void append_utf8(std::string& out, uint32_t cp);

// True if the whole string is valid UTF-8.
bool is_valid_utf8(std::string_view s);
// Every occurrence of `from` replaced by `to`, left to right, without overlap (HF Replace); an empty `from` changes
// nothing.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD. HF decoders end with this, so
// decode() always returns valid UTF-8.
std::string to_valid_utf8(std::string_view s);

}  // namespace ttt::unicode
