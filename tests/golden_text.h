// The text of a tokenizer golden case (tests/tokenizer/make_golden.py): "text", or "corpus": [byte offset, byte
// length], an excerpt of the shared tinyshakespeare corpus, which the repository does not copy.
#pragma once

#include <doctest/doctest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace ttt_test {

// False when the case refers to the corpus and the shared data is absent (the caller skips the case).
inline bool golden_case_text(simdjson::dom::element c, std::string* out) {
    std::string_view text;
    if (c["text"].get_string().get(text) == simdjson::SUCCESS) {
        *out = std::string(text);
        return true;
    }
    static const std::vector<uint8_t> corpus = have_shared_data()
                                                   ? read_bytes(shared_data_dir() / "tinyshakespeare.txt")
                                                   : std::vector<uint8_t>();
    if (corpus.empty()) return false;
    simdjson::dom::array ref = c["corpus"].get_array().value();
    const uint64_t offset = ref.at(0).get_uint64().value(), length = ref.at(1).get_uint64().value();
    REQUIRE(offset + length <= corpus.size());
    out->assign(corpus.begin() + long(offset), corpus.begin() + long(offset + length));
    return true;
}

}  // namespace ttt_test
