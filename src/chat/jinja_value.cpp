#include "chat/jinja_value.h"

#include "io/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"

namespace ttt::chat {

Value Value::undefined(std::string name) {
    Value v;
    v.s = std::move(name);
    return v;
}
Value Value::none() {
    Value v;
    v.kind = Kind::None;
    return v;
}
Value Value::boolean(bool b) {
    Value v;
    v.kind = Kind::Bool;
    v.b = b;
    return v;
}
Value Value::integer(int64_t i) {
    Value v;
    v.kind = Kind::Int;
    v.i = i;
    return v;
}
Value Value::number(double f) {
    Value v;
    v.kind = Kind::Float;
    v.f = f;
    return v;
}
Value Value::string(std::string s) {
    Value v;
    v.kind = Kind::String;
    v.s = std::move(s);
    return v;
}
namespace {

// Depth and namespace content of a list or dict made of `items`.
template <class Items, class Get>
void measure(Value& v, const Items& items, Get get) {
    int depth = 0;
    bool ns = false;
    for (const auto& it : items) {
        const Value& x = get(it);
        depth = std::max(depth, x.depth);
        ns = ns || x.holds_namespace || x.is_namespace;
    }
    if (depth + 1 > kMaxValueDepth)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "a list or dict would nest more than " + std::to_string(kMaxValueDepth) + " levels deep");
    v.depth = depth + 1;
    v.holds_namespace = ns;
}

}  // namespace

Value Value::array(Array a) {
    Value v;
    v.kind = Kind::Array;
    measure(v, a, [](const Value& x) -> const Value& { return x; });
    v.arr = std::make_shared<Array>(std::move(a));
    return v;
}
Value Value::tuple(Array a) {
    Value v = array(std::move(a));
    v.is_tuple = true;
    return v;
}
Value Value::object(Object o) {
    Value v;
    v.kind = Kind::Object;
    measure(v, o, [](const std::pair<std::string, Value>& x) -> const Value& { return x.second; });
    v.obj = std::make_shared<Object>(std::move(o));
    return v;
}

void check_storable_in_namespace(const Value& v, const std::string& name) {
    if (v.is_namespace || v.holds_namespace)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "a namespace cannot hold a namespace (attribute '" + name + "')");
    if (v.depth + 1 > kMaxValueDepth)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "a value nested more than " + std::to_string(kMaxValueDepth) + " levels deep");
}
Value Value::function(Function f) {
    Value v;
    v.kind = Kind::Function;
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
}

bool Value::truthy() const {
    switch (kind) {
        case Kind::Undefined:
        case Kind::None: return false;
        case Kind::Bool: return b;
        case Kind::Int: return i != 0;
        case Kind::Float: return f != 0;
        case Kind::String: return !s.empty();
        case Kind::Array: return !arr->empty();
        case Kind::Object: return is_namespace || !obj->empty();
        case Kind::Function: return true;
    }
    return false;
}

double Value::as_double() const {
    if (kind == Kind::Int) return static_cast<double>(i);
    if (kind == Kind::Bool) return b ? 1.0 : 0.0;
    return f;
}

const Value* Value::find(std::string_view key) const {
    if (kind != Kind::Object) return nullptr;
    for (const auto& kv : *obj)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

Value* Value::find_mut(std::string_view key) {
    if (kind != Kind::Object) return nullptr;
    for (auto& kv : *obj)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

const Value* Args::get(size_t index, std::string_view name) const {
    if (index < positional.size()) return &positional[index];
    for (const auto& kv : named)
        if (kv.first == name) return &kv.second;
    return nullptr;
}

const char* type_name(const Value& v) {
    switch (v.kind) {
        case Value::Kind::Undefined: return "undefined";
        case Value::Kind::None: return "NoneType";
        case Value::Kind::Bool: return "bool";
        case Value::Kind::Int: return "int";
        case Value::Kind::Float: return "float";
        case Value::Kind::String: return "str";
        case Value::Kind::Array: return "list";
        case Value::Kind::Object: return v.is_namespace ? "Namespace" : "dict";
        case Value::Kind::Function: return "function";
    }
    return "?";
}

bool py_space_at(const std::string& s, size_t k, size_t* len) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    *len = 1;
    if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)) return true;
    if (c < 0x80) return false;
    uint32_t cp = 0;
    size_t n = 0;
    if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; n = 2; }
    else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; n = 3; }
    else return false;
    if (k + n > s.size()) return false;
    for (size_t j = 1; j < n; ++j) cp = (cp << 6) | (static_cast<unsigned char>(s[k + j]) & 0x3f);
    const bool space = cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
                       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
    if (space) *len = n;
    return space;
}


std::vector<size_t> code_point_offsets(const std::string& s) {
    std::vector<size_t> offsets;
    for (size_t k = 0; k < s.size(); ++k)
        if ((static_cast<unsigned char>(s[k]) & 0xc0) != 0x80) offsets.push_back(k);
    offsets.push_back(s.size());
    return offsets;
}

std::string py_strip(const std::string& s, bool left, bool right, const std::string* chars) {
    const std::vector<size_t> cps = code_point_offsets(s);
    const size_t n = cps.size() - 1;
    std::vector<std::string> set;
    if (chars) {
        const std::vector<size_t> c = code_point_offsets(*chars);
        for (size_t j = 0; j + 1 < c.size(); ++j) set.push_back(chars->substr(c[j], c[j + 1] - c[j]));
    }
    const auto strippable = [&](size_t j) {
        if (!chars) {
            size_t len;
            return py_space_at(s, cps[j], &len);
        }
        const std::string cp = s.substr(cps[j], cps[j + 1] - cps[j]);
        for (const auto& x : set)
            if (x == cp) return true;
        return false;
    };
    size_t begin = 0, end = n;
    if (left)
        while (begin < end && strippable(begin)) ++begin;
    if (right)
        while (end > begin && strippable(end - 1)) --end;
    return s.substr(cps[begin], cps[end] - cps[begin]);
}

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    // The shortest %.*e form that reads back exactly: Python's repr picks the same digits.
    char buf[64];
    int prec = 0;
    for (; prec < 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*e", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    std::snprintf(buf, sizeof buf, "%.*e", prec, d);
    std::string t(buf);
    const size_t e = t.find('e');
    const int exponent = std::atoi(t.c_str() + e + 1);
    std::string sign;
    std::string mant = t.substr(0, e);
    if (mant[0] == '-') {
        sign = "-";
        mant.erase(0, 1);
    }
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    if (exponent >= -4 && exponent < 16) {
        std::string out;
        if (exponent < 0) {
            out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
        } else {
            const size_t point = static_cast<size_t>(exponent) + 1;
            if (digits.size() <= point) out = digits + std::string(point - digits.size(), '0') + ".0";
            else out = digits.substr(0, point) + "." + digits.substr(point);
        }
        return sign + out;
    }
    std::string out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ex[16];
    std::snprintf(ex, sizeof ex, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + out + ex;
}

namespace {

std::string quote_python(const std::string& s) {
    const bool has_single = s.find('\'') != std::string::npos;
    const bool has_double = s.find('"') != std::string::npos;
    const char q = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, q);
    for (unsigned char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    out += q;
    return out;
}

}  // namespace

namespace {

void repr_into(const Value& v, size_t max_bytes, std::string& out);

void str_into(const Value& v, size_t max_bytes, std::string& out) {
    switch (v.kind) {
        case Value::Kind::Undefined: break;
        case Value::Kind::None: out += "None"; break;
        case Value::Kind::Bool: out += v.b ? "True" : "False"; break;
        case Value::Kind::Int: out += std::to_string(v.i); break;
        case Value::Kind::Float: out += float_repr(v.f); break;
        case Value::Kind::String: out += v.s; break;
        case Value::Kind::Function: out += "<function>"; break;
        default: repr_into(v, max_bytes, out); return;
    }
    if (out.size() > max_bytes)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "printing a value would exceed the limit of " + std::to_string(max_bytes) + " bytes");
}

void repr_into(const Value& v, size_t max_bytes, std::string& out) {
    switch (v.kind) {
        case Value::Kind::String: out += quote_python(v.s); break;
        case Value::Kind::Array:
            out += v.is_tuple ? "(" : "[";
            for (size_t k = 0; k < v.arr->size(); ++k) {
                if (k) out += ", ";
                repr_into((*v.arr)[k], max_bytes, out);
            }
            if (v.is_tuple && v.arr->size() == 1) out += ",";
            out += v.is_tuple ? ")" : "]";
            break;
        case Value::Kind::Object: {
            if (v.is_namespace) {
                out += "<Namespace>";
                break;
            }
            out += "{";
            bool first = true;
            for (const auto& kv : *v.obj) {
                out += (first ? "" : ", ") + quote_python(kv.first) + ": ";
                repr_into(kv.second, max_bytes, out);
                first = false;
            }
            out += "}";
            break;
        }
        default: str_into(v, max_bytes, out); return;
    }
    if (out.size() > max_bytes)
        throw Error(TTT_ERR_INVALID_ARGUMENT, "printing a value would exceed the limit of " + std::to_string(max_bytes) + " bytes");
}

}  // namespace

std::string to_repr(const Value& v, size_t max_bytes) {
    std::string out;
    repr_into(v, max_bytes, out);
    return out;
}

std::string to_str(const Value& v, size_t max_bytes) {
    if (v.kind == Value::Kind::String) return v.s;
    std::string out;
    str_into(v, max_bytes, out);
    return out;
}

namespace {

bool equals_bounded(const Value& a, const Value& b, uint64_t& budget) {
    if (budget-- == 0) throw Error(TTT_ERR_INVALID_ARGUMENT, "comparing these values is too much work (millions of elements)");
    if (a.is_number() && b.is_number()) {
        if (a.kind != Value::Kind::Float && b.kind != Value::Kind::Float)
            return (a.kind == Value::Kind::Int ? a.i : a.b) == (b.kind == Value::Kind::Int ? b.i : b.b);
        return a.as_double() == b.as_double();
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Value::Kind::Undefined:
        case Value::Kind::None: return true;
        case Value::Kind::String: return a.s == b.s;
        case Value::Kind::Array:
            if (a.is_tuple != b.is_tuple || a.arr->size() != b.arr->size()) return false;
            if (a.arr == b.arr) return true;  // the same list (Python compares elements by identity first)
            for (size_t k = 0; k < a.arr->size(); ++k)
                if (!equals_bounded((*a.arr)[k], (*b.arr)[k], budget)) return false;
            return true;
        case Value::Kind::Object:
            if (a.is_namespace || b.is_namespace) return a.obj == b.obj;
            if (a.obj->size() != b.obj->size()) return false;
            if (a.obj == b.obj) return true;
            for (const auto& kv : *a.obj) {
                const Value* other = b.find(kv.first);
                if (!other || !equals_bounded(kv.second, *other, budget)) return false;
            }
            return true;
        case Value::Kind::Function: return a.fn == b.fn;
        default: return false;
    }
}

}  // namespace

bool equals(const Value& a, const Value& b) {
    uint64_t budget = 4000000;
    return equals_bounded(a, b, budget);
}

bool less_than(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind == Value::Kind::Int && b.kind == Value::Kind::Int) return a.i < b.i;
        return a.as_double() < b.as_double();
    }
    if (a.is_string() && b.is_string()) return a.s < b.s;  // UTF-8 byte order is code point order
    if (a.is_array() && b.is_array()) {
        const size_t n = std::min(a.arr->size(), b.arr->size());
        for (size_t k = 0; k < n; ++k) {
            if (less_than((*a.arr)[k], (*b.arr)[k])) return true;
            if (less_than((*b.arr)[k], (*a.arr)[k])) return false;
        }
        return a.arr->size() < b.arr->size();
    }
    throw Error(TTT_ERR_INVALID_ARGUMENT, std::string("'<' not supported between instances of '") + type_name(a) +
                                              "' and '" + type_name(b) + "'");
}

namespace {

// tojson writes strings as transformers' does (ensure_ascii off): the same escaping as io/json.h's json_quote.
void json_string(const std::string& s, std::string& out) { out += json_quote(s); }

struct JsonStyle {
    int indent;
    bool sort_keys;
    std::string item_sep, key_sep;
    size_t max_bytes;
};

void json_write(const Value& v, const JsonStyle& st, int level, std::string& out) {
    const int indent = st.indent;
    if (level > 512) throw Error(TTT_ERR_INVALID_ARGUMENT, "tojson: the value is nested too deeply");
    if (out.size() > st.max_bytes)  // a list holding itself many times over prints exponentially
        throw Error(TTT_ERR_INVALID_ARGUMENT, "tojson: the text would exceed the limit of " + std::to_string(st.max_bytes) + " bytes");
    const auto newline = [&](int lv) {
        out += '\n';
        out.append(static_cast<size_t>(indent) * static_cast<size_t>(lv), ' ');
    };
    switch (v.kind) {
        case Value::Kind::None: out += "null"; return;
        case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
        case Value::Kind::Int: out += std::to_string(v.i); return;
        case Value::Kind::Float:
            if (std::isnan(v.f)) out += "NaN";
            else if (std::isinf(v.f)) out += v.f < 0 ? "-Infinity" : "Infinity";
            else out += float_repr(v.f);
            return;
        case Value::Kind::String: json_string(v.s, out); return;
        case Value::Kind::Array: {
            if (v.arr->empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (size_t k = 0; k < v.arr->size(); ++k) {
                if (k) out += st.item_sep;
                if (indent >= 0) newline(level + 1);
                json_write((*v.arr)[k], st, level + 1, out);
            }
            if (indent >= 0) newline(level);
            out += ']';
            return;
        }
        case Value::Kind::Object: {
            if (v.obj->empty()) {
                out += "{}";
                return;
            }
            std::vector<const std::pair<std::string, Value>*> items;
            for (const auto& kv : *v.obj) items.push_back(&kv);
            if (st.sort_keys)
                std::stable_sort(items.begin(), items.end(), [](auto* x, auto* y) { return x->first < y->first; });
            out += '{';
            for (size_t k = 0; k < items.size(); ++k) {
                if (k) out += st.item_sep;
                if (indent >= 0) newline(level + 1);
                json_string(items[k]->first, out);
                out += st.key_sep;
                json_write(items[k]->second, st, level + 1, out);
            }
            if (indent >= 0) newline(level);
            out += '}';
            return;
        }
        default:
            throw Error(TTT_ERR_INVALID_ARGUMENT,
                        std::string("tojson: a value of type '") + type_name(v) + "' is not JSON serializable");
    }
}

}  // namespace

std::string to_json(const Value& v, int indent, bool sort_keys, const std::string* item_sep, const std::string* key_sep) {
    JsonStyle st{indent, sort_keys, item_sep ? *item_sep : (indent >= 0 ? "," : ", "), key_sep ? *key_sep : ": ", size_t{16} << 20};
    std::string out;
    json_write(v, st, 0, out);
    return out;
}

Value from_json(simdjson::dom::element e) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
        case T::NULL_VALUE: return Value::none();
        case T::BOOL: return Value::boolean(e.get_bool().value_unsafe());
        case T::INT64: return Value::integer(e.get_int64().value_unsafe());
        case T::UINT64: return Value::number(static_cast<double>(e.get_uint64().value_unsafe()));
        case T::DOUBLE: return Value::number(e.get_double().value_unsafe());
        case T::STRING: return Value::string(std::string(e.get_string().value_unsafe()));
        case T::ARRAY: {
            Array a;
            simdjson::dom::array items = e.get_array().value_unsafe();  // named: the range must outlive the loop
            for (simdjson::dom::element x : items) a.push_back(from_json(x));
            return Value::array(std::move(a));
        }
        case T::OBJECT: {
            Object o;
            simdjson::dom::object fields = e.get_object().value_unsafe();
            for (auto field : fields) {
                std::string key(field.key);
                bool replaced = false;  // a repeated key keeps its first place and takes the last value, as Python
                for (auto& kv : o)
                    if (kv.first == key) {
                        kv.second = from_json(field.value);
                        replaced = true;
                    }
                if (!replaced) o.emplace_back(std::move(key), from_json(field.value));
            }
            return Value::object(std::move(o));
        }
    }
    return Value::none();
}

}  // namespace ttt::chat
