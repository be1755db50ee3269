// Pre-tokenizers: split a normalized piece of text into words for the BPE model. Supported (with HF semantics):
// ByteLevel (add_prefix_space, use_regex = GPT-2 pattern, byte -> character mapping), Split (the GPT-2 / Llama-3 /
// Qwen2 regexes or a literal string, every split behaviour, invert), Metaspace (replacement, prepend_scheme,
// split), and Sequence of these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/split_patterns.h"

namespace ttt {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
enum class PrependScheme { Always, First, Never };

class PreTokenizer {
public:
    struct Step {
        enum class Kind { ByteLevel, Split, Metaspace };
        Kind kind = Kind::ByteLevel;
        // ByteLevel
        bool add_prefix_space = false;
        bool use_regex = true;
        // Split: a known regex (is_regex) or a literal string
        bool is_regex = false;
        split::Pattern pattern = split::Pattern::Gpt2;
        std::string literal;
        SplitBehavior behavior = SplitBehavior::Isolated;
        bool invert = false;
        // Metaspace
        std::string replacement;  // one character, UTF-8
        PrependScheme prepend_scheme = PrependScheme::Always;
        bool split = true;
    };

    void add(Step step);
    bool empty() const { return steps_.empty(); }

    // Receives each word, in order; the view is valid only during the call.
    using WordFn = void (*)(void* ctx, std::string_view word);

    // Split one normalized piece into words. at_start: the piece begins at offset 0 of the original text
    // (Metaspace's prepend_scheme "first" needs it).
    void apply(std::string_view text, bool at_start, WordFn fn, void* ctx) const;

private:
    // The byte-level layouts of GPT-2 ([ByteLevel(use_regex)]) and Llama-3 ([Split(regex), ByteLevel(no regex,
    // no prefix space)]) take a direct path: regex ranges mapped straight into one reused buffer.
    enum class Fast { None, ByteLevelRegex, SplitThenByteLevel };
    void apply_generic(std::string_view text, bool at_start, WordFn fn, void* ctx) const;

    std::vector<Step> steps_;
    Fast fast_ = Fast::None;
};

}  // namespace ttt
