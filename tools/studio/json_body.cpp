#include "json_body.h"

#include <cmath>
#include <cstdio>

#include "http_error.h"
#include "io/json.h"

namespace studio {

JsonBody::JsonBody(const std::string& text) : parser_(std::make_shared<simdjson::dom::parser>()) {
    if (text.empty()) throw bad_request("the request needs a JSON object body");
    simdjson::dom::element root;
    if (auto err = parser_->parse(text.data(), text.size()).get(root))
        throw bad_request(std::string("the body is not valid JSON: ") + simdjson::error_message(err));
    if (root.get_object().get(obj_)) throw bad_request("the body must be a JSON object");
}

JsonBody::JsonBody(simdjson::dom::element e, std::string where) : where_(std::move(where)) {
    if (e.get_object().get(obj_)) throw bad_request(where_ + ": must be an object");
}

bool JsonBody::find(const char* key, simdjson::dom::element* out) const {
    return obj_.at_key(key).get(*out) == simdjson::SUCCESS && !out->is_null();
}

bool JsonBody::has(const char* key) const {
    simdjson::dom::element e;
    return find(key, &e);
}

std::string JsonBody::str(const char* key, size_t max_len) const {
    simdjson::dom::element e;
    if (!find(key, &e)) throw bad_request(field(key) + ": required");
    std::string_view v;
    if (e.get_string().get(v)) throw bad_request(field(key) + ": must be a string");
    if (v.size() > max_len) throw bad_request(field(key) + ": longer than " + std::to_string(max_len) + " bytes");
    return std::string(v);
}

std::string JsonBody::str_or(const char* key, const std::string& fallback, size_t max_len) const {
    return has(key) ? str(key, max_len) : fallback;
}

double JsonBody::num_or(const char* key, double fallback, double lo, double hi) const {
    simdjson::dom::element e;
    if (!find(key, &e)) return fallback;
    double v;
    if (e.get_double().get(v)) throw bad_request(field(key) + ": must be a number");
    if (!(v >= lo && v <= hi)) {
        char b[160];
        std::snprintf(b, sizeof b, ": %g is outside %g..%g", v, lo, hi);
        throw bad_request(field(key) + b);
    }
    return v;
}

int64_t JsonBody::int_or(const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
    simdjson::dom::element e;
    if (!find(key, &e)) return fallback;
    int64_t v;
    if (e.get_int64().get(v)) {
        double d;  // 3.0 is fine, 3.5 is not
        if (e.get_double().get(d) || d != std::floor(d) || std::fabs(d) > 9e15)
            throw bad_request(field(key) + ": must be an integer");
        v = static_cast<int64_t>(d);
    }
    if (v < lo || v > hi)
        throw bad_request(field(key) + ": " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
}

bool JsonBody::bool_or(const char* key, bool fallback) const {
    simdjson::dom::element e;
    if (!find(key, &e)) return fallback;
    bool v;
    if (e.get_bool().get(v)) throw bad_request(field(key) + ": must be true or false");
    return v;
}

std::vector<std::string> JsonBody::str_list(const char* key, size_t max_items, size_t max_len) const {
    simdjson::dom::element e;
    if (!find(key, &e)) throw bad_request(field(key) + ": required");
    simdjson::dom::array a;
    if (e.get_array().get(a)) throw bad_request(field(key) + ": must be an array of strings");
    std::vector<std::string> out;
    for (simdjson::dom::element item : a) {
        std::string_view v;
        if (item.get_string().get(v)) throw bad_request(field(key) + ": must be an array of strings");
        if (v.size() > max_len) throw bad_request(field(key) + ": an entry is too long");
        out.emplace_back(v);
        if (out.size() > max_items) throw bad_request(field(key) + ": more than " + std::to_string(max_items) + " entries");
    }
    return out;
}

JsonBody JsonBody::object_or_empty(const char* key) const {
    simdjson::dom::element e;
    if (!find(key, &e)) return JsonBody("{}");
    JsonBody b(e, field(key));
    b.parser_ = parser_;
    return b;
}

void JsonOut::key(const char* k) {
    if (s_.size() > 1) s_ += ',';
    s_ += ttt::json_quote(k);
    s_ += ':';
}

JsonOut& JsonOut::str(const char* k, const std::string& v) {
    key(k);
    s_ += ttt::json_quote(v);
    return *this;
}

JsonOut& JsonOut::num(const char* k, double v) {
    key(k);
    if (!std::isfinite(v)) {
        s_ += "null";
        return *this;
    }
    char b[40];
    std::snprintf(b, sizeof b, "%.9g", v);
    s_ += b;
    return *this;
}

JsonOut& JsonOut::integer(const char* k, long long v) {
    key(k);
    s_ += std::to_string(v);
    return *this;
}

JsonOut& JsonOut::boolean(const char* k, bool v) {
    key(k);
    s_ += v ? "true" : "false";
    return *this;
}

JsonOut& JsonOut::raw(const char* k, const std::string& json) {
    key(k);
    s_ += json;
    return *this;
}

std::string json_string(const std::string& s) { return ttt::json_quote(s); }

std::string json_array(const std::vector<std::string>& items) {
    std::string s = "[";
    for (size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
    return s + "]";
}

}  // namespace studio
