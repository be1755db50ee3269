// The parts of a loaded tokenizer, shared by tokenizer_json.cpp (which builds them) and tokenizer.cpp (which
// runs them). Internal to src/tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ttt {

struct Tokenizer::Impl {
    std::string json;

    Normalizer normalizer;
    PreTokenizer pre_tokenizer;
    std::unique_ptr<BpeModel> model;
    Decoder decoder;
    PostProcessor post_processor;

    std::vector<AddedToken> added;      // in file order
    AddedTokenMatcher raw_matcher;      // added tokens with normalized = false, matched on the raw text
    AddedTokenMatcher norm_matcher;     // normalized = true, matched on normalized text
    StringIdMap added_ids;              // content -> id

    // Per id (size vocab_size): its vocab string and its piece (token_to_piece), pooled.
    enum : uint8_t { kPresent = 1, kSpecial = 2, kEog = 4, kBytePiece = 8 };  // kBytePiece: see Decoder::is_byte_token
    int32_t vocab_size = 0;
    std::vector<uint8_t> flags;
    std::string text_pool;
    std::vector<size_t> text_off;   // size vocab_size + 1
    std::string piece_pool;
    std::vector<size_t> piece_off;  // size vocab_size + 1

    int32_t bos = -1;
    int32_t eos = -1;

    std::string_view text_of(int32_t id) const {
        size_t k = static_cast<size_t>(id);
        return std::string_view(text_pool).substr(text_off[k], text_off[k + 1] - text_off[k]);
    }
    std::string_view piece_of(int32_t id) const {
        size_t k = static_cast<size_t>(id);
        return std::string_view(piece_pool).substr(piece_off[k], piece_off[k + 1] - piece_off[k]);
    }
};

// Build every part from the JSON text (tokenizer_json.cpp).
std::unique_ptr<Tokenizer::Impl> load_tokenizer_json(std::string_view json_text);

}  // namespace ttt
