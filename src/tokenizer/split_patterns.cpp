// Hand-written matchers for the GPT-2, Llama-3 and Qwen2 split regexes. Text is decoded once into code points with
// class flags; each matcher then tries the alternatives at position i in regex order and returns the match end.
// All loops advance at least one code point per match and never rescan more than a run twice: linear time, so a
// 1 MB run of one character costs the same as 1 MB of prose.
#include "tokenizer/split_patterns.h"

#include <cstdint>

#include "tokenizer/unicode.h"

namespace ttt::split {
namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum : uint8_t { kL = 1, kN = 2, kS = 4, kCrLf = 8 };  // kOther = none of L, N, S

struct Char {
    uint32_t cp;
    uint8_t fl;
    uint8_t len;  // bytes in the text (1..4); offsets are summed as matches are emitted
};
static_assert(sizeof(Char) == 8, "one code point of scratch should stay 8 bytes");

inline bool is_other(const Char& c) { return (c.fl & (kL | kN | kS)) == 0; }

// End of the run of characters starting at i that all have one of the given flags.
inline size_t run(const Char* c, size_t n, size_t i, uint8_t flags) {
    while (i < n && (c[i].fl & flags)) ++i;
    return i;
}
inline size_t run_other(const Char* c, size_t n, size_t i) {
    while (i < n && is_other(c[i])) ++i;
    return i;
}

// ASCII case folding plus U+017F LATIN SMALL LETTER LONG S, which Unicode case-folds to 's' (Oniguruma's (?i)).
inline uint32_t fold(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp == 0x17F) return 's';
    return cp;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive. Returns the end or 0 if none matches.
inline size_t contraction(const Char* c, size_t n, size_t i, bool icase) {
    if (c[i].cp != '\'' || i + 1 >= n) return 0;
    uint32_t a = icase ? fold(c[i + 1].cp) : c[i + 1].cp;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 >= n) return 0;
    uint32_t b = icase ? fold(c[i + 2].cp) : c[i + 2].cp;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
}

// \s+(?!\S)|\s+ at a white-space character i: the whole run if it ends the text, else the run minus its last
// character (which then prefixes the next word), but at least one character.
inline size_t trailing_space(size_t i, size_t e, size_t n) {
    if (e == n) return e;
    return e - i >= 2 ? e - 1 : e;
}

size_t match_gpt2(const Char* c, size_t n, size_t i) {
    if (size_t e = contraction(c, n, i, false)) return e;
    const bool space_then = c[i].cp == ' ' && i + 1 < n;
    if (c[i].fl & kL) return run(c, n, i, kL);                           //  ?\p{L}+
    if (space_then && (c[i + 1].fl & kL)) return run(c, n, i + 1, kL);
    if (c[i].fl & kN) return run(c, n, i, kN);                           //  ?\p{N}+
    if (space_then && (c[i + 1].fl & kN)) return run(c, n, i + 1, kN);
    if (is_other(c[i])) return run_other(c, n, i);                       //  ?[^\s\p{L}\p{N}]+
    if (space_then && is_other(c[i + 1])) return run_other(c, n, i + 1);
    return trailing_space(i, run(c, n, i, kS), n);                       // c[i] is white space
}

size_t match_llama3(const Char* c, size_t n, size_t i, size_t max_digits) {
    if (size_t e = contraction(c, n, i, true)) return e;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (c[i].fl & kL) return run(c, n, i, kL);
    if (!(c[i].fl & (kCrLf | kL | kN)) && i + 1 < n && (c[i + 1].fl & kL)) return run(c, n, i + 1, kL);
    // \p{N}{1,3}
    if (c[i].fl & kN) {
        size_t j = i + 1;
        while (j < n && j - i < max_digits && (c[j].fl & kN)) ++j;
        return j;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    size_t s = i;
    if (c[i].cp == ' ' && i + 1 < n && is_other(c[i + 1])) s = i + 1;
    if (is_other(c[s])) return run(c, n, run_other(c, n, s), kCrLf);
    // c[i] is white space. \s*[\r\n]+ : the run up to and including its last \r or \n.
    const size_t e = run(c, n, i, kS);
    for (size_t k = e; k > i; --k) {
        if (c[k - 1].fl & kCrLf) return k;
    }
    return trailing_space(i, e, n);
}

}  // namespace

bool pattern_from_regex(std::string_view regex, Pattern* out) {
    if (regex == kGpt2Regex) *out = Pattern::Gpt2;
    else if (regex == kLlama3Regex) *out = Pattern::Llama3;
    else if (regex == kQwen2Regex) *out = Pattern::Qwen2;
    else return false;
    return true;
}

void find_matches(Pattern pattern, std::string_view text, std::vector<std::pair<size_t, size_t>>& out) {
    thread_local std::vector<Char> chars;  // scratch reused across calls: no allocation per word
    chars.clear();
    for (size_t i = 0; i < text.size();) {
        unicode::Decoded d = unicode::decode(text.data(), text.size(), i);
        uint8_t fl = 0;
        if (d.cp < 0x80) {  // ASCII fast path
            uint32_t a = d.cp;
            if ((a | 32) >= 'a' && (a | 32) <= 'z') fl = kL;
            else if (a >= '0' && a <= '9') fl = kN;
            else if (a == ' ' || (a >= 0x09 && a <= 0x0D)) fl = kS | ((a == '\r' || a == '\n') ? kCrLf : 0);
        } else if (unicode::is_white_space(d.cp)) {
            fl = kS;
        } else if (unicode::is_letter(d.cp)) {
            fl = kL;
        } else if (unicode::is_number(d.cp)) {
            fl = kN;
        }
        chars.push_back({d.cp, fl, static_cast<uint8_t>(d.len)});
        i += d.len;
    }
    const size_t n = chars.size();
    const Char* c = chars.data();
    size_t begin = 0;  // byte offset of character i
    for (size_t i = 0; i < n;) {
        size_t j = pattern == Pattern::Gpt2     ? match_gpt2(c, n, i)
                   : pattern == Pattern::Llama3 ? match_llama3(c, n, i, 3)
                                                : match_llama3(c, n, i, 1);
        size_t end = begin;
        for (size_t k = i; k < j; ++k) end += c[k].len;
        out.emplace_back(begin, end);
        begin = end;
        i = j;
    }
    if (chars.capacity() > (1u << 21)) std::vector<Char>().swap(chars);  // keep at most 16 MB per thread
}

}  // namespace ttt::split
