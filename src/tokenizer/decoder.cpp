#include "tokenizer/decoder.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"

namespace ttt {
namespace {

// "<0xNN>" -> byte, else -1 (HF: six bytes, "<0x" prefix, two hex digits of either case, ">").
int parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    int v = 0;
    for (size_t k = 3; k < 5; ++k) {
        char c = t[k];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

std::vector<std::string> byte_fallback(std::vector<std::string> tokens) {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string bytes;
    size_t nbytes = 0;
    auto flush = [&] {
        if (nbytes == 0) return;
        // The whole run is one string if it is valid UTF-8, else every byte becomes U+FFFD (HF's rule).
        if (unicode::is_valid_utf8(bytes)) {
            out.push_back(bytes);
        } else {
            for (size_t k = 0; k < nbytes; ++k) out.emplace_back("\xEF\xBF\xBD");
        }
        bytes.clear();
        nbytes = 0;
    };
    for (std::string& t : tokens) {
        int b = parse_byte_token(t);
        if (b >= 0) {
            bytes.push_back(static_cast<char>(b));
            ++nbytes;
        } else {
            flush();
            out.push_back(std::move(t));
        }
    }
    flush();
    return out;
}

// Remove up to `start` leading and up to `stop` trailing copies of the one-character string `content`. Where the
// two ends overlap (e.g. "   " with start 2, stop 2) HF panics; we return the empty string.
void strip(std::string& token, std::string_view content, size_t start, size_t stop) {
    size_t begin = 0, end = token.size();
    for (size_t k = 0; k < start && token.compare(begin, content.size(), content) == 0; ++k) begin += content.size();
    for (size_t k = 0; k < stop && end >= begin + content.size() &&
                       token.compare(end - content.size(), content.size(), content) == 0;
         ++k) {
        end -= content.size();
    }
    token = token.substr(begin, end - begin);
}

}  // namespace

void Decoder::add(Step step) {
    steps_.push_back(std::move(step));
    using K = Step::Kind;
    shape_ = Shape::Generic;
    if (steps_.size() == 1 && steps_[0].kind == K::ByteLevel) {
        shape_ = Shape::ByteLevel;
    } else if (steps_.size() == 4 && steps_[0].kind == K::Replace && steps_[1].kind == K::ByteFallback &&
               steps_[2].kind == K::Fuse && steps_[3].kind == K::Strip) {
        shape_ = Shape::SentencePiece;
    }
}

bool Decoder::is_byte_token(std::string_view token) const {
    return shape_ == Shape::SentencePiece && parse_byte_token(unicode::replace_all(token, steps_[0].a, steps_[0].b)) >= 0;
}

void Decoder::strip_final(std::string& text) const {
    if (shape_ == Shape::SentencePiece) strip(text, steps_[3].a, steps_[3].start, steps_[3].stop);
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
    if (!present_) {
        std::string out;
        for (size_t k = 0; k < tokens.size(); ++k) {
            if (k) out.push_back(' ');
            out += tokens[k];
        }
        return unicode::to_valid_utf8(out);
    }
    for (const Step& st : steps_) {
        switch (st.kind) {
            case Step::Kind::ByteLevel: {
                std::string bytes;
                for (const std::string& t : tokens) {
                    if (!byte_level::decode_append(t, bytes)) bytes += t;
                }
                tokens.assign(1, unicode::to_valid_utf8(bytes));
                break;
            }
            case Step::Kind::Replace:
                for (std::string& t : tokens) t = unicode::replace_all(t, st.a, st.b);
                break;
            case Step::Kind::ByteFallback:
                tokens = byte_fallback(std::move(tokens));
                break;
            case Step::Kind::Fuse: {
                std::string all;
                for (const std::string& t : tokens) all += t;
                tokens.assign(1, std::move(all));
                break;
            }
            case Step::Kind::Strip:
                for (std::string& t : tokens) strip(t, st.a, st.start, st.stop);
                break;
            case Step::Kind::Metaspace:
                for (size_t k = 0; k < tokens.size(); ++k) {
                    // HF drops every replacement character of the first token unless prepend_scheme is never.
                    bool drop = k == 0 && st.prepend_scheme != PrependScheme::Never;
                    tokens[k] = unicode::replace_all(tokens[k], st.a, drop ? "" : " ");
                }
                break;
        }
    }
    std::string out;
    for (const std::string& t : tokens) out += t;
    return unicode::to_valid_utf8(out);
}

std::string Decoder::piece(std::string_view token) const {
    std::string cur(token);
    for (const Step& st : steps_) {
        switch (st.kind) {
            case Step::Kind::ByteLevel: {
                std::string bytes;
                if (byte_level::decode_append(cur, bytes)) cur.swap(bytes);
                break;
            }
            case Step::Kind::Replace:
                cur = unicode::replace_all(cur, st.a, st.b);
                break;
            case Step::Kind::ByteFallback: {
                int b = parse_byte_token(cur);
                if (b >= 0) cur.assign(1, static_cast<char>(b));
                break;
            }
            case Step::Kind::Metaspace:
                cur = unicode::replace_all(cur, st.a, " ");
                break;
            case Step::Kind::Fuse:
            case Step::Kind::Strip:
                break;
        }
    }
    return cur;
}

}  // namespace ttt
