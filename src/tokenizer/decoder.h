// Decoders: token strings -> text, with HF's decode_chain semantics step by step (ByteLevel, Replace, ByteFallback,
// Fuse, Strip, Metaspace, Sequence). Also the per-token "piece": the raw bytes one token contributes, for streaming.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pre_tokenizer.h"

namespace ttt {

class Decoder {
public:
    struct Step {
        enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace };
        Kind kind = Kind::Fuse;
        std::string a;  // Replace: pattern; Strip: content char; Metaspace: replacement char
        std::string b;  // Replace: replacement
        size_t start = 0, stop = 0;                            // Strip
        PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace
    };

    void add(Step step);
    // Without steps HF joins the tokens with spaces; a decoder that is present but an empty Sequence concatenates.
    void set_present(bool present) { present_ = present; }

    // Decoders whose result follows from per-token pieces, so Tokenizer::decode can skip the token strings:
    //   ByteLevel:    [ByteLevel]                         -> valid_utf8(concatenated pieces)
    //   SentencePiece [Replace, ByteFallback, Fuse, Strip] -> pieces, byte runs checked as HF does, then Strip
    enum class Shape { Generic, ByteLevel, SentencePiece };
    Shape shape() const { return shape_; }
    // SentencePiece shape: whether ByteFallback turns this token into a byte (after the Replace before it).
    bool is_byte_token(std::string_view token) const;
    // SentencePiece shape: the final Strip applied to the whole text.
    void strip_final(std::string& text) const;

    // Complete text of a token sequence; always valid UTF-8 (invalid bytes become U+FFFD as in HF).
    std::string decode(std::vector<std::string> tokens) const;

    // The bytes one token contributes: byte-level characters mapped back to bytes, <0xNN> to one byte, Replace
    // applied, Metaspace's replacement to a space. Whole-text steps (Strip, leading-space removal) are not applied,
    // and the result may be partial UTF-8.
    std::string piece(std::string_view token) const;

private:
    std::vector<Step> steps_;
    bool present_ = false;
    Shape shape_ = Shape::Generic;
};

}  // namespace ttt
