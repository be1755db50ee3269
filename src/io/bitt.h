// The .bitt single-file model container (docs/formats.md). The container only: what the config and the tensors mean
// is the loader's business (load/bitt_model.h).
//   "BITT" | u64 LE N | N bytes of JSON header | a complete safetensors image (the body) until end of file.
// v1 (upstream): header {"config", "tokenizer"}, body = latent float weights.
// v2 (ours):     header adds format_version, min_reader_version, the weight layout, body_bytes, body_crc32c and the
//                model fingerprint; the header is space-padded so the body starts at a multiple of 64, and the body
//                holds packed ternary weights with every tensor aligned to its element size (usable in place).
// v3 (ours):     v2 plus a last header field "header_crc32c" covering every byte before it (config, tokenizer, body
//                size, body checksum, fingerprint). v2 files without it are still read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "io/safetensors.h"

namespace ttt {

struct BittFile {
    int32_t format_version = 1;
    std::string config_json;      // the header's "config" object, minified (its meaning: load/config_json.h)
    std::string weights_layout;   // v2: the packed layout the body uses, as named in the header (empty in v1)
    std::string tokenizer_json;   // empty if the file carries no tokenizer
    std::string tokenizer_config_json;  // the header's "tokenizer_config" (chat template, special tokens), or empty
    bool checksum_verified = false;
    uint32_t body_crc32c = 0;     // v2: as stored
    uint64_t stored_fingerprint = 0;  // v2: as stored
    FileBytes bytes;              // the whole file, mapped or in memory (owns what `body` points into)
    SafetensorsView body;
};

constexpr int32_t kBittLatestVersion = 3;

// Parse a .bitt image (keeps a reference to the bytes). Throws Error(TTT_ERR_FORMAT / TTT_ERR_UNSUPPORTED).
BittFile parse_bitt(FileBytes bytes, const std::string& what, bool verify_checksum);

// What a .bitt header records besides the format fields; the body is a safetensors image built for file offset 0.
struct BittContents {
    std::string config_json;     // a JSON object
    std::string weights_layout;  // the packed layout's name
    uint64_t fingerprint = 0;    // of the model, checked by readers against the weights
    std::string tokenizer_json;  // a tokenizer.json object, or empty
    std::string tokenizer_config_json;  // a tokenizer_config.json object, or empty (then not written)
};

// A .bitt v3 image (the v2 layout plus the header checksum): header padded so the body starts at a multiple of 64.
std::vector<uint8_t> write_bitt(const BittContents& contents, const std::vector<uint8_t>& body);
// The bytes before the body ("BITT", header length, padded header) for a body of body_bytes bytes with CRC-32C
// body_crc. Its length depends on body_bytes but not on the checksums or the fingerprint (fixed-width hex), so a
// streamed writer can reserve it first and rewrite it last (io/bitt_file_writer.h).
std::vector<uint8_t> bitt_prefix(const BittContents& contents, uint64_t body_bytes, uint32_t body_crc);

bool looks_like_bitt(const uint8_t* data, size_t size);

}  // namespace ttt
