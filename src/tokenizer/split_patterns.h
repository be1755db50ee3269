// The regex split patterns of byte-level BPE tokenizers, matched by hand-written code instead of a regex engine
// (std::regex has no \p{L}/\p{N}; an engine would be a dependency for three fixed patterns). Each matcher follows
// the leftmost-first alternation and backtracking of the regex exactly, so pieces equal what HF's Oniguruma gives.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace ttt::split {

enum class Pattern {
    Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Llama3,  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Qwen2,   // as Llama3 with \p{N} (one digit per piece) instead of \p{N}{1,3}
};

// The pattern a tokenizer.json regex string denotes; false if it is not one we implement.
bool pattern_from_regex(std::string_view regex, Pattern* out);

// Byte ranges [begin, end) of the successive matches. Every character matches some alternative, so the ranges
// cover the text without gaps. Invalid UTF-8 bytes count as "other" characters (neither letter, number nor space).
void find_matches(Pattern pattern, std::string_view text, std::vector<std::pair<size_t, size_t>>& out);

}  // namespace ttt::split
