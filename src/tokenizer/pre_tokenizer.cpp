// Each step maps a list of pieces to a new list, as HF's PreTokenizedString::split does; empty pieces are dropped.
#include "tokenizer/pre_tokenizer.h"

#include <utility>

#include "tokenizer/byte_level.h"

namespace ttt {
namespace {

struct Piece {
    std::string text;
    bool at_start;
};

using Ranges = std::vector<std::pair<size_t, size_t>>;

// HF's NormalizedString::split: `spans` are (range, is_match) covering the text; returns the kept ranges.
Ranges apply_behavior(std::vector<std::pair<std::pair<size_t, size_t>, bool>> spans, SplitBehavior behavior,
                      bool invert) {
    if (invert) {
        for (auto& s : spans) s.second = !s.second;
    }
    Ranges out;
    switch (behavior) {
        case SplitBehavior::Removed:
            for (auto& s : spans) {
                if (!s.second) out.push_back(s.first);
            }
            break;
        case SplitBehavior::Isolated:
            for (auto& s : spans) out.push_back(s.first);
            break;
        case SplitBehavior::Contiguous: {
            bool prev = false;
            for (auto& s : spans) {
                if (s.second == prev && !out.empty()) out.back().second = s.first.second;
                else out.push_back(s.first);
                prev = s.second;
            }
            break;
        }
        case SplitBehavior::MergedWithPrevious: {
            bool prev = false;
            for (auto& s : spans) {
                if (s.second && !prev && !out.empty()) out.back().second = s.first.second;
                else out.push_back(s.first);
                prev = s.second;
            }
            break;
        }
        case SplitBehavior::MergedWithNext: {
            bool prev = false;
            for (size_t k = spans.size(); k-- > 0;) {
                auto& s = spans[k];
                if (s.second && !prev && !out.empty()) out.back().first = s.first.first;
                else out.push_back(s.first);
                prev = s.second;
            }
            Ranges rev(out.rbegin(), out.rend());
            out.swap(rev);
            break;
        }
    }
    return out;
}

// Occurrences of a literal (non-overlapping, left to right) as spans covering the text.
std::vector<std::pair<std::pair<size_t, size_t>, bool>> literal_spans(std::string_view text, std::string_view lit) {
    std::vector<std::pair<std::pair<size_t, size_t>, bool>> spans;
    size_t i = 0;
    if (!lit.empty()) {
        for (size_t k; (k = text.find(lit, i)) != std::string_view::npos; i = k + lit.size()) {
            if (k > i) spans.push_back({{i, k}, false});
            spans.push_back({{k, k + lit.size()}, true});
        }
    }
    if (i < text.size() || spans.empty()) spans.push_back({{i, text.size()}, false});
    return spans;
}

void push_pieces(const Piece& p, const Ranges& ranges, std::vector<Piece>& out) {
    for (const auto& r : ranges) {
        if (r.second <= r.first) continue;
        out.push_back(Piece{p.text.substr(r.first, r.second - r.first), p.at_start && r.first == 0});
    }
}

std::string replace_char(std::string_view s, char from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == from) out += to;
        else out.push_back(c);
    }
    return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

void PreTokenizer::add(Step step) {
    steps_.push_back(std::move(step));
    fast_ = Fast::None;
    const bool regex_split_kept_whole = [&] {
        // With a regex, matches cover the text, so every behaviour but Removed/Contiguous keeps each match whole.
        const Step& s0 = steps_[0];
        return s0.kind == Step::Kind::Split && s0.is_regex && !s0.invert &&
               s0.behavior != SplitBehavior::Removed && s0.behavior != SplitBehavior::Contiguous;
    }();
    if (steps_.size() == 1 && steps_[0].kind == Step::Kind::ByteLevel && steps_[0].use_regex) {
        fast_ = Fast::ByteLevelRegex;
    } else if (steps_.size() == 2 && regex_split_kept_whole && steps_[1].kind == Step::Kind::ByteLevel &&
               !steps_[1].use_regex && !steps_[1].add_prefix_space) {
        fast_ = Fast::SplitThenByteLevel;
    }
}

void PreTokenizer::apply(std::string_view text, bool at_start, WordFn fn, void* ctx) const {
    if (text.empty()) return;
    if (fast_ == Fast::None) {
        apply_generic(text, at_start, fn, ctx);
        return;
    }
    thread_local std::vector<std::pair<size_t, size_t>> ranges;
    thread_local std::string prefixed, word;
    ranges.clear();
    split::Pattern pattern = split::Pattern::Gpt2;
    if (fast_ == Fast::ByteLevelRegex) {
        if (steps_[0].add_prefix_space && text[0] != ' ') {
            prefixed.assign(1, ' ');
            prefixed.append(text);
            text = prefixed;
        }
    } else {
        pattern = steps_[0].pattern;
    }
    split::find_matches(pattern, text, ranges);
    for (const auto& r : ranges) {
        word.clear();
        byte_level::encode_append(text.substr(r.first, r.second - r.first), word);
        fn(ctx, word);
    }
    if (ranges.capacity() > (1u << 20)) {  // keep at most 16 MB of ranges per thread after a huge input
        decltype(ranges)().swap(ranges);
        std::string().swap(prefixed);
        std::string().swap(word);
    }
}

void PreTokenizer::apply_generic(std::string_view text, bool at_start, WordFn fn, void* ctx) const {
    std::vector<Piece> cur{Piece{std::string(text), at_start}};
    std::vector<Piece> next;
    Ranges matches;
    for (const Step& st : steps_) {
        next.clear();
        for (Piece& p : cur) {
            switch (st.kind) {
                case Step::Kind::ByteLevel: {
                    if (st.add_prefix_space && !starts_with(p.text, " ")) p.text.insert(0, " ");
                    matches.clear();
                    if (st.use_regex) split::find_matches(split::Pattern::Gpt2, p.text, matches);
                    else matches.emplace_back(0, p.text.size());
                    for (const auto& r : matches) {
                        if (r.second <= r.first) continue;
                        Piece q{std::string(), p.at_start && r.first == 0};
                        byte_level::encode_append(std::string_view(p.text).substr(r.first, r.second - r.first),
                                                  q.text);
                        next.push_back(std::move(q));
                    }
                    break;
                }
                case Step::Kind::Split: {
                    std::vector<std::pair<std::pair<size_t, size_t>, bool>> spans;
                    if (st.is_regex) {
                        matches.clear();
                        split::find_matches(st.pattern, p.text, matches);
                        for (const auto& r : matches) spans.push_back({r, true});
                        if (spans.empty()) spans.push_back({{0, 0}, false});
                    } else {
                        spans = literal_spans(p.text, st.literal);
                    }
                    push_pieces(p, apply_behavior(std::move(spans), st.behavior, st.invert), next);
                    break;
                }
                case Step::Kind::Metaspace: {
                    const char space = ' ';
                    p.text = replace_char(p.text, space, st.replacement);
                    bool prepend = st.prepend_scheme == PrependScheme::Always ||
                                   (st.prepend_scheme == PrependScheme::First && p.at_start);
                    if (prepend && !starts_with(p.text, st.replacement)) p.text.insert(0, st.replacement);
                    if (st.split) {
                        push_pieces(p, apply_behavior(literal_spans(p.text, st.replacement),
                                                      SplitBehavior::MergedWithNext, false),
                                    next);
                    } else {
                        next.push_back(std::move(p));
                    }
                    break;
                }
            }
        }
        cur.swap(next);
    }
    for (const Piece& p : cur) {
        if (!p.text.empty()) fn(ctx, p.text);
    }
}

}  // namespace ttt
