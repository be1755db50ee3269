// C ABI: tokenizer functions. The model's tokenizer is immutable, so these are safe from any thread.
#include <cstring>

#include "api/guard.h"
#include "api/handles.h"

using namespace ttt;

namespace {

const Tokenizer& tokenizer_of(const ttt_model* model) {
    check_model(model);
    if (!model->tokenizer)
        throw Error(TTT_ERR_UNSUPPORTED, "the model '" + model->loaded.source + "' has no tokenizer");
    return *model->tokenizer;
}

// Size-query protocol for bytes: report the size, copy when it fits, NUL-terminate when there is room.
void copy_out(const std::string& bytes, char* buf, size_t capacity, size_t* out_len) {
    *out_len = bytes.size();
    if (bytes.empty()) {
        if (buf && capacity > 0) buf[0] = '\0';
        return;
    }
    if (!buf || capacity < bytes.size())
        throw Error(TTT_ERR_BUFFER_TOO_SMALL, "the text needs " + std::to_string(bytes.size()) + " bytes, the buffer has " +
                                                  std::to_string(buf ? capacity : 0));
    std::memcpy(buf, bytes.data(), bytes.size());
    if (capacity > bytes.size()) buf[bytes.size()] = '\0';
}

void check_token(const Tokenizer& tok, int32_t token) {
    if (token < 0 || token >= tok.vocab_size())
        throw Error(TTT_ERR_INVALID_ARGUMENT, "token " + std::to_string(token) + " is outside the tokenizer's vocabulary [0, " +
                                                  std::to_string(tok.vocab_size()) + ")");
}

}  // namespace

extern "C" {

TTT_API ttt_status TTT_CALL ttt_tokenize(const ttt_model* model, const char* text, size_t text_len, uint32_t flags,
                                         int32_t* tokens, size_t capacity, size_t* out_n_tokens) {
    return guarded("ttt_tokenize", [&] {
        require_pointer(out_n_tokens, "out_n_tokens");
        *out_n_tokens = 0;
        if (text_len) require_pointer(text, "text");
        if (flags & ~(TTT_TOKENIZE_ADD_SPECIAL | TTT_TOKENIZE_PARSE_SPECIAL))
            throw Error(TTT_ERR_INVALID_ARGUMENT, "unknown tokenize flags " + std::to_string(flags));
        const Tokenizer& tok = tokenizer_of(model);
        std::vector<int32_t> ids = tok.encode(std::string_view(text ? text : "", text_len), flags & TTT_TOKENIZE_ADD_SPECIAL,
                                              flags & TTT_TOKENIZE_PARSE_SPECIAL);
        *out_n_tokens = ids.size();
        if (ids.empty()) return;  // nothing needed: a NULL buffer is fine
        if (!tokens || capacity < ids.size())
            throw Error(TTT_ERR_BUFFER_TOO_SMALL, "the text has " + std::to_string(ids.size()) + " tokens, the buffer holds " +
                                                      std::to_string(tokens ? capacity : 0));
        std::memcpy(tokens, ids.data(), ids.size() * sizeof(int32_t));
    });
}

TTT_API ttt_status TTT_CALL ttt_detokenize(const ttt_model* model, const int32_t* tokens, size_t n_tokens,
                                           uint32_t flags, char* text, size_t capacity, size_t* out_len) {
    return guarded("ttt_detokenize", [&] {
        require_pointer(out_len, "out_len");
        *out_len = 0;
        if (n_tokens) require_pointer(tokens, "tokens");
        if (flags & ~TTT_DETOKENIZE_SKIP_SPECIAL) throw Error(TTT_ERR_INVALID_ARGUMENT, "unknown detokenize flags");
        const Tokenizer& tok = tokenizer_of(model);
        for (size_t i = 0; i < n_tokens; ++i) check_token(tok, tokens[i]);
        copy_out(tok.decode(tokens, n_tokens, flags & TTT_DETOKENIZE_SKIP_SPECIAL), text, capacity, out_len);
    });
}

TTT_API ttt_status TTT_CALL ttt_token_to_piece(const ttt_model* model, int32_t token, char* buf, size_t capacity,
                                               size_t* out_len) {
    return guarded("ttt_token_to_piece", [&] {
        require_pointer(out_len, "out_len");
        *out_len = 0;
        const Tokenizer& tok = tokenizer_of(model);
        check_token(tok, token);
        copy_out(tok.token_to_piece(token), buf, capacity, out_len);
    });
}

TTT_API ttt_status TTT_CALL ttt_token_is_eog(const ttt_model* model, int32_t token, int32_t* out_is_eog) {
    return guarded("ttt_token_is_eog", [&] {
        require_pointer(out_is_eog, "out_is_eog");
        const Tokenizer& tok = tokenizer_of(model);
        check_token(tok, token);
        *out_is_eog = tok.is_eog(token) ? 1 : 0;
    });
}

}  // extern "C"
