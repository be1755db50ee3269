#include "io/json.h"

#include <cfloat>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace ttt {

std::unique_ptr<JsonDocument> parse_json(std::string_view text, const std::string& what) {
    auto doc = std::make_unique<JsonDocument>();
    simdjson::padded_string padded(text.data(), text.size());
    auto err = doc->parser.parse(padded).get(doc->root);
    if (err) fail_format("invalid JSON in " + what + ": " + simdjson::error_message(err));
    return doc;
}

const char* json_type_name(simdjson::dom::element_type t) {
    switch (t) {
        case simdjson::dom::element_type::ARRAY: return "an array";
        case simdjson::dom::element_type::OBJECT: return "an object";
        case simdjson::dom::element_type::INT64:
        case simdjson::dom::element_type::UINT64: return "an integer";
        case simdjson::dom::element_type::DOUBLE: return "a number";
        case simdjson::dom::element_type::STRING: return "a string";
        case simdjson::dom::element_type::BOOL: return "a boolean";
        case simdjson::dom::element_type::NULL_VALUE: return "null";
    }
    return "unknown";
}

bool json_find(simdjson::dom::object obj, std::string_view key, simdjson::dom::element* out) {
    simdjson::dom::element e;
    if (obj.at_key(key).get(e)) return false;
    if (e.is_null()) return false;
    *out = e;
    return true;
}

namespace {
[[noreturn]] void wrong_type(const std::string& what, std::string_view key, const char* expected,
                             simdjson::dom::element e) {
    fail_format(what + ": field \"" + std::string(key) + "\" must be " + expected + ", found " +
                json_type_name(e.type()));
}
}  // namespace

bool json_get_int_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, int64_t* out) {
    simdjson::dom::element e;
    if (!json_find(obj, key, &e)) return false;
    if (e.is_int64()) {
        *out = e.get_int64().value_unsafe();
        return true;
    }
    if (e.is_uint64()) fail_format(what + ": field \"" + std::string(key) + "\" is too large");
    if (e.is_double()) {  // accept 256.0, refuse 2.5 and anything outside int64
        double d = e.get_double().value_unsafe();
        // Range first: converting a double outside int64's range is undefined behaviour. 2^63 is exact in double.
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::trunc(d)) {
            *out = static_cast<int64_t>(d);
            return true;
        }
        fail_format(what + ": field \"" + std::string(key) + "\" must be an integer in the 64-bit range, found " +
                    std::to_string(d));
    }
    wrong_type(what, key, "an integer", e);
}

bool json_get_double_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, double* out) {
    simdjson::dom::element e;
    if (!json_find(obj, key, &e)) return false;
    if (e.is_number()) {
        *out = e.get_double().value_unsafe();
        return true;
    }
    wrong_type(what, key, "a number", e);
}

bool json_get_float_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, float* out) {
    double d = 0;
    if (!json_get_double_opt(obj, key, what, &d)) return false;
    if (std::isfinite(d) && std::fabs(d) > double(FLT_MAX))
        fail_format(what + ": field \"" + std::string(key) + "\" = " + std::to_string(d) +
                    " is outside the float range (magnitude at most 3.4e38)");
    *out = static_cast<float>(d);
    return true;
}

bool json_get_bool_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, bool* out) {
    simdjson::dom::element e;
    if (!json_find(obj, key, &e)) return false;
    if (e.is_bool()) {
        *out = e.get_bool().value_unsafe();
        return true;
    }
    wrong_type(what, key, "true or false", e);
}

bool json_get_string_opt(simdjson::dom::object obj, std::string_view key, const std::string& what, std::string* out) {
    simdjson::dom::element e;
    if (!json_find(obj, key, &e)) return false;
    if (e.is_string()) {
        *out = std::string(e.get_string().value_unsafe());
        return true;
    }
    wrong_type(what, key, "a string", e);
}

std::string json_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
    return out;
}

std::string json_minify(simdjson::dom::element e) { return simdjson::minify(e); }

}  // namespace ttt
