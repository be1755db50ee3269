#include "tokenizer/normalizer.h"

#include "tokenizer/unicode.h"

namespace ttt {
namespace {

std::string strip(std::string_view s, bool left, bool right) {
    size_t b = 0, e = s.size();
    if (left) {
        while (b < e) {
            unicode::Decoded d = unicode::decode(s.data(), e, b);
            if (!unicode::is_white_space(d.cp)) break;
            b += d.len;
        }
    }
    if (right) {
        // Walk forward, remembering where the last non-space character ended (UTF-8 is not decodable backwards
        // when it is invalid, so do not try).
        size_t last_end = b;
        for (size_t i = b; i < e;) {
            unicode::Decoded d = unicode::decode(s.data(), e, i);
            i += d.len;
            if (!unicode::is_white_space(d.cp)) last_end = i;
        }
        e = last_end;
    }
    return std::string(s.substr(b, e - b));
}

}  // namespace

std::string Normalizer::apply(std::string_view text) const {
    std::string cur(text);
    for (const Step& st : steps_) {
        switch (st.kind) {
            case Step::Kind::Prepend:
                if (!cur.empty()) cur.insert(0, st.a);  // HF prepends only to non-empty text
                break;
            case Step::Kind::Replace:
                cur = unicode::replace_all(cur, st.a, st.b);
                break;
            case Step::Kind::Strip:
                cur = strip(cur, st.left, st.right);
                break;
        }
    }
    return cur;
}

}  // namespace ttt
