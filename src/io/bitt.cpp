#include "io/bitt.h"

#include <cstring>

#include "common/error.h"
#include "io/checksum.h"
#include "io/json.h"

namespace ttt {

namespace {

constexpr size_t kPrefix = 12;  // magic + u64 header length
constexpr uint64_t kMaxHeader = 256u << 20;

std::string hex32(uint32_t v) { return hex64(v).substr(8); }

// The tokenizer may be stored as a JSON object (upstream export tool) or as a JSON string holding the JSON text
// (upstream's export_to_bitt, which its own reader could not load). We accept both and keep minified JSON text.
std::string tokenizer_text(simdjson::dom::element e, const std::string& what) {
    if (e.is_object()) return json_minify(e);
    if (e.is_string()) {
        std::string_view s = e.get_string().value_unsafe();
        auto doc = parse_json(s, what + ": the tokenizer string");
        if (!doc->root.is_object()) fail_format(what + ": the tokenizer string does not hold a JSON object");
        return json_minify(doc->root);
    }
    fail_format(what + ": \"tokenizer\" must be an object or a JSON string, found " + json_type_name(e.type()));
}

// v3: the header's last field is "header_crc32c", the CRC-32C of every file byte before it (magic, header length
// and the header text up to the comma that starts this field). So the config, the tokenizer, body_bytes,
// body_crc32c and the fingerprint are all covered; only the checksum's own text and the padding after the closing
// brace are not (the padding may only hold JSON whitespace, anything else is a JSON error).
constexpr char kHeaderCrcKey[] = ",\"header_crc32c\":\"";
constexpr size_t kHeaderCrcSuffix = sizeof kHeaderCrcKey - 1 + 8 + 2;  // key, 8 hex digits, closing quote and brace

bool is_json_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Where the header_crc32c suffix starts in the header text (which begins at file offset kPrefix), or npos.
size_t header_crc_suffix(const uint8_t* header, size_t n) {
    while (n > 0 && is_json_space(header[n - 1])) --n;
    if (n < kHeaderCrcSuffix) return std::string::npos;
    const size_t at = n - kHeaderCrcSuffix;
    const size_t key = sizeof kHeaderCrcKey - 1;
    if (std::memcmp(header + at, kHeaderCrcKey, key) != 0 || header[n - 2] != '"' || header[n - 1] != '}')
        return std::string::npos;
    return at;
}

// Verify the header checksum of v3 files (and of any file that carries one, whatever its version says, so a damaged
// version number cannot switch the check off).
void verify_header_crc(const uint8_t* file, uint64_t n, int64_t version, bool has_field, const std::string& what) {
    const uint8_t* header = file + kPrefix;
    const size_t at = header_crc_suffix(header, size_t(n));
    if (at == std::string::npos) {
        if (version >= 3 || has_field)
            fail_format(what + ": the header does not end with its \"header_crc32c\" field (the file is corrupted)");
        return;  // a v2 file written before header checksums existed
    }
    const std::string stored(reinterpret_cast<const char*>(header + at + sizeof kHeaderCrcKey - 1), 8);
    uint64_t v = 0;
    if (!parse_hex64(stored, &v)) fail_format(what + ": \"header_crc32c\" must be 8 hex digits");
    const uint32_t actual = crc32c(file, kPrefix + at);
    if (actual != v)
        fail_format(what + ": checksum mismatch: header CRC-32C is " + hex32(actual) + ", the header says " + stored +
                    " (the file is corrupted)");
}

}  // namespace

bool looks_like_bitt(const uint8_t* data, size_t size) { return size >= 4 && std::memcmp(data, "BITT", 4) == 0; }

BittFile parse_bitt(FileBytes bytes, const std::string& what, bool verify_checksum) {
    BittFile f;
    f.bytes = std::move(bytes);
    const uint8_t* p = f.bytes.data;
    const size_t size = f.bytes.size;
    if (size < 4) fail_format(what + ": truncated: " + std::to_string(size) + " bytes, not a .bitt file");
    if (!looks_like_bitt(p, size)) fail_format(what + ": wrong magic: not a .bitt file (expected \"BITT\")");
    if (size < kPrefix) fail_format(what + ": truncated inside the header length (" + std::to_string(size) + " bytes)");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | p[4 + i];
    if (n == 0 || n > kMaxHeader) fail_format(what + ": header length " + std::to_string(n) + " is not plausible");
    if (n > size - kPrefix)
        fail_format(what + ": truncated: header length " + std::to_string(n) + " runs past the end of the " +
                    std::to_string(size) + "-byte file");

    auto doc = parse_json(std::string_view(reinterpret_cast<const char*>(p + kPrefix), n), what + " header");
    simdjson::dom::object header;
    if (doc->root.get_object().get(header)) fail_format(what + ": the header JSON is not an object");

    int64_t version = 1, min_reader = 1;
    json_get_int_opt(header, "format_version", what, &version);
    json_get_int_opt(header, "min_reader_version", what, &min_reader);
    if (min_reader > kBittLatestVersion)
        fail_unsupported(what + ": file needs a reader of .bitt version >= " + std::to_string(min_reader) +
                         ", this library reads up to version " + std::to_string(kBittLatestVersion));
    if (version < 1) fail_format(what + ": format_version " + std::to_string(version) + " is invalid");
    simdjson::dom::element crc_field;
    verify_header_crc(p, n, version, json_find(header, "header_crc32c", &crc_field), what);
    f.format_version = static_cast<int32_t>(version > kBittLatestVersion ? kBittLatestVersion : version);

    simdjson::dom::element cfg;
    if (!json_find(header, "config", &cfg)) fail_format(what + ": the header has no \"config\"");
    if (!cfg.is_object()) fail_format(what + ": \"config\" must be an object");
    f.config_json = json_minify(cfg);

    simdjson::dom::element tok;
    if (json_find(header, "tokenizer", &tok)) f.tokenizer_json = tokenizer_text(tok, what);
    simdjson::dom::element tok_config;  // optional: a tokenizer_config.json object (its chat template)
    if (json_find(header, "tokenizer_config", &tok_config)) {
        if (!tok_config.is_object()) fail_format(what + ": \"tokenizer_config\" must be an object");
        f.tokenizer_config_json = json_minify(tok_config);
    }

    const uint8_t* body = p + kPrefix + n;
    const size_t body_size = size - kPrefix - static_cast<size_t>(n);
    if (f.format_version >= 2) {
        int64_t body_bytes = -1;
        std::string crc_hex, fp_hex;
        if (!json_get_int_opt(header, "body_bytes", what, &body_bytes) || body_bytes < 0)
            fail_format(what + ": v2 header lacks \"body_bytes\"");
        if (static_cast<uint64_t>(body_bytes) != body_size)
            fail_format(what + ": truncated or extended: the header says the body has " + std::to_string(body_bytes) +
                        " bytes, the file holds " + std::to_string(body_size));
        uint64_t v = 0;
        if (!json_get_string_opt(header, "body_crc32c", what, &crc_hex) || !parse_hex64(crc_hex, &v) || v > 0xffffffffu)
            fail_format(what + ": v2 header lacks a valid \"body_crc32c\"");
        f.body_crc32c = static_cast<uint32_t>(v);
        if (json_get_string_opt(header, "fingerprint", what, &fp_hex) && !parse_hex64(fp_hex, &f.stored_fingerprint))
            fail_format(what + ": \"fingerprint\" must be 16 hex digits");
        json_get_string_opt(header, "weights_layout", what, &f.weights_layout);
        if (verify_checksum) {
            uint32_t actual = crc32c(body, body_size);
            if (actual != f.body_crc32c)
                fail_format(what + ": checksum mismatch: body CRC-32C is " + hex32(actual) + ", the header says " +
                            crc_hex + " (the file is corrupted)");
            f.checksum_verified = true;
        }
    }
    f.body = parse_safetensors(body, body_size, what + " body");
    return f;
}

std::vector<uint8_t> bitt_prefix(const BittContents& c, uint64_t body_bytes, uint32_t body_crc) {
    std::string tok = "null";
    if (!c.tokenizer_json.empty()) {
        auto doc = parse_json(c.tokenizer_json, "the tokenizer JSON");
        if (!doc->root.is_object()) fail_format("the tokenizer JSON must be an object (a tokenizer.json)");
        tok = json_minify(doc->root);
    }
    std::string tok_config;
    if (!c.tokenizer_config_json.empty()) {
        auto doc = parse_json(c.tokenizer_config_json, "the tokenizer_config JSON");
        if (!doc->root.is_object()) fail_format("the tokenizer_config JSON must be an object (a tokenizer_config.json)");
        tok_config = ",\"tokenizer_config\":" + json_minify(doc->root);
    }
    auto cfg = parse_json(c.config_json, "the model config JSON");  // checked, then written as given
    if (!cfg->root.is_object()) fail_format("the model config JSON must be an object");
    std::string header = "{\"format\":\"bitt\",\"format_version\":3,\"min_reader_version\":2,\"config\":" +
                         c.config_json + ",\"weights_layout\":" + json_quote(c.weights_layout) +
                         ",\"alignment\":64,\"body_bytes\":" + std::to_string(body_bytes) + ",\"body_crc32c\":\"" +
                         hex32(body_crc) + "\",\"fingerprint\":\"" + hex64(c.fingerprint) + "\",\"tokenizer\":" + tok + tok_config;
    // The header checksum covers everything before its own field, so the padded length must be known first.
    const size_t covered = header.size();
    header += std::string(kHeaderCrcKey) + "00000000\"}";
    while ((kPrefix + header.size()) % 64 != 0) header += ' ';
    std::vector<uint8_t> out;
    out.reserve(kPrefix + header.size());
    for (char m : {'B', 'I', 'T', 'T'}) out.push_back(static_cast<uint8_t>(m));
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
    out.insert(out.end(), header.begin(), header.begin() + covered);
    const std::string crc = hex32(crc32c(out.data(), out.size()));
    header.replace(covered + sizeof kHeaderCrcKey - 1, 8, crc);
    out.insert(out.end(), header.begin() + covered, header.end());
    return out;
}

std::vector<uint8_t> write_bitt(const BittContents& c, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> out = bitt_prefix(c, body.size(), crc32c(body.data(), body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

}  // namespace ttt
