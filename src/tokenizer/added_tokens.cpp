// Added-token matching with HF semantics:
//  - scan left to right; at the leftmost position where a pattern starts, take the longest one;
//  - a match that is discarded (a special token while !parse_special, or a single_word token inside a word) is
//    skipped as a whole: scanning resumes after it, as with HF's aho-corasick find_iter + `continue`;
//  - lstrip / rstrip widen the match over adjacent white space (never back over an earlier match).
#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace ttt {

void AddedTokenMatcher::build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns) {
    tokens_ = tokens;
    nodes_.assign(1, Node{});
    std::fill(std::begin(first_byte_), std::end(first_byte_), false);
    for (size_t t = 0; t < tokens.size(); ++t) {
        const std::string& p = patterns[t];
        if (p.empty()) continue;
        first_byte_[static_cast<unsigned char>(p[0])] = true;
        int32_t node = 0;
        for (unsigned char b : p) {
            int32_t c = child(node, b);
            if (c < 0) {
                c = static_cast<int32_t>(nodes_.size());
                auto& nx = nodes_[static_cast<size_t>(node)].next;
                nx.insert(std::lower_bound(nx.begin(), nx.end(), std::make_pair(b, int32_t(-1))), {b, c});
                nodes_.emplace_back();
            }
            node = c;
        }
        // Two tokens with the same pattern: the first one wins (HF builds its automaton in the same order).
        if (nodes_[static_cast<size_t>(node)].match < 0) nodes_[static_cast<size_t>(node)].match = static_cast<int32_t>(t);
    }
}

int32_t AddedTokenMatcher::child(int32_t node, unsigned char b) const {
    const auto& nx = nodes_[static_cast<size_t>(node)].next;
    auto it = std::lower_bound(nx.begin(), nx.end(), std::make_pair(b, int32_t(-1)));
    return (it != nx.end() && it->first == b) ? it->second : -1;
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t i, size_t* end) const {
    int32_t best = -1;
    int32_t node = 0;
    for (size_t k = i; k < text.size(); ++k) {
        node = child(node, static_cast<unsigned char>(text[k]));
        if (node < 0) break;
        if (nodes_[static_cast<size_t>(node)].match >= 0) {
            best = nodes_[static_cast<size_t>(node)].match;
            *end = k + 1;
        }
    }
    return best;
}

namespace {

uint32_t last_cp(std::string_view s) {
    size_t i = s.size();
    while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80 && s.size() - i < 3) --i;
    if (i > 0) --i;
    unicode::Decoded d = unicode::decode(s.data(), s.size(), i);
    if (i + d.len != s.size()) return unicode::kInvalidBase;  // ends in a broken sequence
    return d.cp;
}

// Start of the white space at the end of s (HF: regex \s*$).
size_t trailing_ws_start(std::string_view s) {
    size_t i = s.size();
    while (i > 0) {
        size_t j = i - 1;
        while (j > 0 && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80 && i - j < 4) --j;
        unicode::Decoded d = unicode::decode(s.data(), s.size(), j);
        if (j + d.len != i || !unicode::is_white_space(d.cp)) break;
        i = j;
    }
    return i;
}

// Length of the white space at the start of s (HF: regex ^\s*).
size_t leading_ws_len(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unicode::Decoded d = unicode::decode(s.data(), s.size(), i);
        if (!unicode::is_white_space(d.cp)) break;
        i += d.len;
    }
    return i;
}

}  // namespace

void AddedTokenMatcher::split(std::string_view text, bool parse_special, std::vector<Segment>& out) const {
    size_t done = 0;  // end of the last emitted segment
    if (!tokens_.empty()) {
        for (size_t i = 0; i < text.size();) {
            if (!first_byte_[static_cast<unsigned char>(text[i])]) {
                ++i;
                continue;
            }
            size_t stop = 0;
            int32_t t = longest_at(text, i, &stop);
            if (t < 0) {
                ++i;
                continue;
            }
            size_t start = i;
            i = stop;  // the next search starts after this match, used or not
            const AddedToken& tok = *tokens_[static_cast<size_t>(t)];
            if (tok.special && !parse_special) continue;
            if (tok.single_word) {
                bool word_before = start > 0 && unicode::is_word_char(last_cp(text.substr(0, start)));
                bool word_after = stop < text.size() &&
                                  unicode::is_word_char(unicode::decode(text.data(), text.size(), stop).cp);
                if (word_before || word_after) continue;
            }
            if (tok.lstrip) start = std::max(trailing_ws_start(text.substr(0, start)), done);
            if (tok.rstrip) stop += leading_ws_len(text.substr(stop));
            start = std::max(start, done);  // an earlier rstrip may have eaten into this match's left side
            if (stop <= start) continue;
            if (done < start) out.push_back(Segment{done, start, -1});
            out.push_back(Segment{start, stop, t});
            done = stop;
        }
    }
    if (done < text.size()) out.push_back(Segment{done, text.size(), -1});
}

}  // namespace ttt
