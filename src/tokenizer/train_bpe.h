// Internal entry point of the BPE trainer (the public ones, train_bpe and train_bpe_texts, are in tokenizer.h).
// Texts and files are counted in parts of at most part_bytes, cut only where the GPT-2 split gives the same words
// either way; tests pass a small part size to check that cutting changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ttt {

constexpr size_t kTrainPartBytes = size_t{8} << 20;

// files and/or texts (either may be null).
std::string train_bpe_parts(const std::vector<std::string>* files, const std::vector<std::string>* texts,
                            int32_t vocab_size, int32_t min_frequency, const std::vector<std::string>& special_tokens,
                            const std::function<void(double)>& progress, size_t part_bytes);

}  // namespace ttt
