// The .bitt single-file model container (docs/formats.md).
//   "BITT" | u64 LE N | N bytes of JSON header | a complete safetensors image (the body) until end of file.
// v1 (upstream): header {"config", "tokenizer"}, body = latent float weights.
// v2 (ours):     header adds format_version, min_reader_version, the weight layout, body_bytes, body_crc32c and the
//                model fingerprint; the header is space-padded so the body starts at a multiple of 64, and the body
//                holds packed ternary weights with every tensor aligned to its element size (usable in place).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/weights.h"

namespace ttt {

struct BittFile {
    int32_t format_version = 1;
    ModelConfig config;
    std::string tokenizer_json;   // empty if the file carries no tokenizer
    bool checksum_verified = false;
    uint32_t body_crc32c = 0;     // v2: as stored
    uint64_t stored_fingerprint = 0;  // v2: as stored
    FileBytes bytes;              // the whole file, mapped or in memory (owns what `body` points into)
    SafetensorsView body;
};

constexpr int32_t kBittLatestVersion = 2;

// Parse a .bitt image (keeps a reference to the bytes). Throws Error(TTT_ERR_FORMAT / TTT_ERR_UNSUPPORTED).
BittFile parse_bitt(FileBytes bytes, const std::string& what, bool verify_checksum);

// Serialise weights (+ optional tokenizer JSON text) as a .bitt v2 image.
std::vector<uint8_t> write_bitt_v2(const ModelWeights& weights, const std::string& tokenizer_json);

bool looks_like_bitt(const uint8_t* data, size_t size);

}  // namespace ttt
