// Added tokens (special and not): found in the text before normalization / pre-tokenization, as HF's
// AddedVocabulary::find_matches does — leftmost-longest matching, single_word / lstrip / rstrip handling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ttt {

struct AddedToken {
    int32_t id = -1;
    std::string content;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
};

// One piece of a split text: [begin, end) bytes, and the added token it is (-1 for plain text).
struct Segment {
    size_t begin;
    size_t end;
    int32_t token;  // index into the matcher's token list, or -1
};

// Leftmost-longest multi-pattern matcher over a byte trie.
class AddedTokenMatcher {
public:
    // patterns[i] is what token i looks like in the text it is matched against (its content, or its
    // normalized content for normalized tokens); empty patterns never match.
    void build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns);
    bool empty() const { return tokens_.empty(); }

    // Split text into plain and added-token segments covering it. Special tokens are skipped when
    // !parse_special (they stay plain text and reach the model), exactly where HF's encode_special_tokens would.
    void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

    const AddedToken& token(int32_t index) const { return *tokens_[static_cast<size_t>(index)]; }

private:
    struct Node {
        std::vector<std::pair<unsigned char, int32_t>> next;  // sorted by byte
        int32_t match = -1;                                    // token index ending here
    };
    int32_t child(int32_t node, unsigned char b) const;
    // Longest pattern starting at text[i]: its token index and end, or -1.
    int32_t longest_at(std::string_view text, size_t i, size_t* end) const;

    std::vector<Node> nodes_;
    std::vector<const AddedToken*> tokens_;
    bool first_byte_[256] = {};
};

}  // namespace ttt
