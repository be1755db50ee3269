// Request bodies (JSON objects parsed with simdjson) with typed, range-checked fields whose errors name the field,
// and a small builder for the JSON the server answers with.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

namespace studio {

class JsonBody {
public:
    // Throws HttpError 400 for an empty body, invalid JSON or a top level that is not an object.
    explicit JsonBody(const std::string& text);

    bool has(const char* key) const;
    // Required string (throws when missing); max_len in bytes.
    std::string str(const char* key, size_t max_len = 4096) const;
    std::string str_or(const char* key, const std::string& fallback, size_t max_len = 4096) const;
    double num_or(const char* key, double fallback, double lo, double hi) const;
    int64_t int_or(const char* key, int64_t fallback, int64_t lo, int64_t hi) const;
    bool bool_or(const char* key, bool fallback) const;
    std::vector<std::string> str_list(const char* key, size_t max_items, size_t max_len = 4096) const;
    // A nested object (empty body "{}" when absent).
    JsonBody object_or_empty(const char* key) const;

private:
    JsonBody(simdjson::dom::element e, std::string where);
    bool find(const char* key, simdjson::dom::element* out) const;
    std::string field(const char* key) const { return where_.empty() ? key : where_ + "." + key; }
    std::shared_ptr<simdjson::dom::parser> parser_;
    simdjson::dom::object obj_;
    std::string where_;
};

// {"a": 1, "b": "x"} built field by field; values given as JSON text go in with raw().
class JsonOut {
public:
    JsonOut& str(const char* key, const std::string& v);
    JsonOut& num(const char* key, double v);  // NaN / Inf become null
    JsonOut& integer(const char* key, long long v);
    JsonOut& boolean(const char* key, bool v);
    JsonOut& raw(const char* key, const std::string& json);
    JsonOut& null(const char* key) { return raw(key, "null"); }
    std::string done() const { return s_ + "}"; }

private:
    void key(const char* k);
    std::string s_ = "{";
};

std::string json_string(const std::string& s);
std::string json_array(const std::vector<std::string>& json_items);

}  // namespace studio
