// Finding and reading a model wherever it lives: a model directory, a .bitt file, a .safetensors file with its
// config.json beside it, or a .bitt image in memory; and writing a model directory.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/weights.h"

namespace ttt {

struct LoadedModel {
    ModelWeights weights;
    std::string tokenizer_json;  // empty when the source has none
    std::string tokenizer_config_json;  // tokenizer_config.json (chat template, special tokens); empty when none
    uint64_t fingerprint = 0;    // weights.fingerprint(), computed once at load
    std::string source;          // what was loaded, for messages
    int32_t bitt_version = 0;    // 0: not a .bitt
    bool checksum_verified = false;
    bool mapped = false;         // the file is memory-mapped and the packed weights are used in place
};

struct LoadOptions {
    bool verify_checksum = true;
    std::function<bool(float)> progress;  // false aborts
};

LoadedModel load_model_path(const std::string& path, const LoadOptions& opt);
LoadedModel load_model_bitt(const std::string& path, const LoadOptions& opt);
LoadedModel load_model_bitt_bytes(std::vector<uint8_t> bytes, const std::string& what, const LoadOptions& opt);

// Write config.json, model.safetensors (packed form), tokenizer.json and tokenizer_config.json (if any) into dir
// (created if needed), each crash-safely.
void write_model_directory(const std::string& dir, const ModelWeights& w, const std::string& tokenizer_json,
                           const std::string& tokenizer_config_json = {});

}  // namespace ttt
