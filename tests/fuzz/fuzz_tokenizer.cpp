// tokenizer.json then tokenize/detokenize: the input is "<tokenizer.json>\0<text>". With no NUL the whole input is
// text for the committed byte-level tokenizer (tests/data/tokenizer/ttt_bytelevel.json), whose encoding must be
// lossless: the pieces of the ids give the text's bytes back exactly.
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "fuzz_common.h"
#include "io/file.h"
#include "tokenizer/tokenizer.h"

namespace {

const ttt::Tokenizer& byte_level() {
    static std::unique_ptr<ttt::Tokenizer> t = [] {
        const auto bytes = ttt::read_file(fuzz::source_path("tests/data/tokenizer/ttt_bytelevel.json"));
        return ttt::Tokenizer::from_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }();
    return *t;
}

void exercise(const ttt::Tokenizer& tok, std::string_view text, bool lossless) {
    for (int mode = 0; mode < 4; ++mode) {
        const auto ids = tok.encode(text, mode & 1, mode & 2);
        for (int32_t id : ids)
            if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
        const std::string decoded = tok.decode(ids.data(), ids.size(), mode & 1);
        if (lossless && mode == 0) {
            std::string pieces;
            for (int32_t id : ids) pieces += tok.token_to_piece(id);
            if (pieces != text) __builtin_trap();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::quiet_logs();
    const char* p = reinterpret_cast<const char*>(data);
    const void* nul = std::memchr(p, 0, size);
    try {
        if (!nul) {
            exercise(byte_level(), std::string_view(p, size), true);
        } else {
            const size_t json_len = size_t(static_cast<const char*>(nul) - p);
            auto tok = ttt::Tokenizer::from_json(std::string_view(p, json_len));
            exercise(*tok, std::string_view(p + json_len + 1, size - json_len - 1), false);
        }
    } catch (const ttt::Error&) {
    }
    return 0;
}
