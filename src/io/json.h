// Small helpers over simdjson's DOM API: parse with a clear error, typed field access that names the field, and
// writing JSON strings. simdjson validates UTF-8, so every string we get from it is valid UTF-8.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ttt {

struct JsonDocument {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
};

// Parse JSON text. `what` names the source in errors ("config.json", "safetensors header of 'x'").
// Throws Error(TTT_ERR_FORMAT) for invalid JSON or invalid UTF-8.
std::unique_ptr<JsonDocument> parse_json(std::string_view text, const std::string& what);

const char* json_type_name(simdjson::dom::element_type t);

// Typed lookups on an object; each throws Error(TTT_ERR_FORMAT) naming `what` and the key on a type mismatch.
// The *_opt forms return false when the key is absent (or null).
bool json_find(simdjson::dom::object obj, std::string_view key, simdjson::dom::element* out);
bool json_get_int_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, int64_t* out);
bool json_get_double_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, double* out);
// A number stored as float: a finite value outside the float range is refused (the conversion would be undefined).
bool json_get_float_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, float* out);
bool json_get_bool_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, bool* out);
bool json_get_string_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, std::string* out);

// Quote and escape a UTF-8 string as a JSON string literal.
std::string json_quote(std::string_view s);
// A compact JSON serialisation of a DOM element (for re-embedding a tokenizer or config).
std::string json_minify(simdjson::dom::element e);

}  // namespace ttt
