#include "chat/jinja_filters.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace ttt::chat {

namespace {

[[noreturn]] void undefined_use(Host& h, const Value& v) {
    h.fail("'" + (v.s.empty() ? std::string("value") : v.s) + "' is undefined");
}

std::string ascii_lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string ascii_upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::string capitalize(const std::string& s) {
    std::string out = ascii_lower(s);
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
    return out;
}

// Jinja's title filter: words begin after whitespace, '-', '(', '{', '[' or '<'.
std::string title(const std::string& s) {
    std::string out;
    bool start = true;
    for (char c : s) {
        const bool sep = std::isspace(static_cast<unsigned char>(c)) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        if (sep) {
            out += c;
            start = true;
        } else {
            out += start ? ascii_upper(std::string(1, c)) : ascii_lower(std::string(1, c));
            start = false;
        }
    }
    return out;
}

const Value& require_string(Host& h, const Value* v, const char* what) {
    if (!v || !v->is_string()) h.fail(std::string(what) + " takes a string argument");
    return *v;
}

int64_t require_int(Host& h, const Value* v, const char* what) {
    if (!v || (v->kind != Value::Kind::Int && v->kind != Value::Kind::Bool)) h.fail(std::string(what) + " takes an integer argument");
    return v->kind == Value::Kind::Int ? v->i : v->b;
}

Value split(Host& h, const std::string& s, const Value* sep, int64_t maxsplit) {
    Array out;
    if (!sep || sep->is_none()) {  // runs of whitespace, no empty parts
        size_t k = 0, len;
        while (true) {
            while (k < s.size() && py_space_at(s, k, &len)) k += len;
            if (k >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
                out.push_back(Value::string(py_strip(s.substr(k), false, true)));
                break;
            }
            size_t e = k;
            while (e < s.size() && !py_space_at(s, e, &len)) ++e;
            h.step();
            out.push_back(Value::string(s.substr(k, e - k)));
            k = e;
        }
        return Value::array(std::move(out));
    }
    const std::string& d = require_string(h, sep, "split()").s;
    if (d.empty()) h.fail("split(): empty separator");
    size_t k = 0;
    while (true) {
        const size_t f = s.find(d, k);
        if (f == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
            out.push_back(Value::string(s.substr(k)));
            break;
        }
        h.step();
        out.push_back(Value::string(s.substr(k, f - k)));
        k = f + d.size();
    }
    return Value::array(std::move(out));
}

std::string replace(Host& h, const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    int64_t done = 0;
    if (from.empty()) {  // Python inserts `to` between every code point (and at both ends)
        const auto cps = code_point_offsets(s);
        for (size_t k = 0; k + 1 < cps.size(); ++k) {
            if (count < 0 || done < count) {
                out += to;
                ++done;
            }
            out += s.substr(cps[k], cps[k + 1] - cps[k]);
            h.check_size(out.size());
        }
        if (count < 0 || done < count) out += to;
        return out;
    }
    size_t k = 0;
    while (true) {
        const size_t f = s.find(from, k);
        if (f == std::string::npos || (count >= 0 && done >= count)) break;
        out.append(s, k, f - k);
        out += to;
        h.check_size(out.size());
        ++done;
        k = f + from.size();
    }
    out.append(s, k, std::string::npos);
    h.check_size(out.size());
    return out;
}

bool starts_or_ends(Host& h, const std::string& s, const Value* arg, bool start) {
    if (!arg) h.fail(start ? "startswith() takes an argument" : "endswith() takes an argument");
    std::vector<std::string> options;
    if (arg->is_array()) {
        for (const auto& x : *arg->arr) options.push_back(require_string(h, &x, start ? "startswith()" : "endswith()").s);
    } else {
        options.push_back(require_string(h, arg, start ? "startswith()" : "endswith()").s);
    }
    for (const auto& o : options) {
        if (o.size() > s.size()) continue;
        if (start ? s.compare(0, o.size(), o) == 0 : s.compare(s.size() - o.size(), o.size(), o) == 0) return true;
    }
    return false;
}

Value string_method(Host& h, const std::string& s, const std::string& name) {
    auto bind = [](Function f) { return Value::function(std::move(f)); };
    h.charge(s.size() >> 10);
    Host* hp = &h;
    if (name == "upper") return bind([s](Args&) { return Value::string(ascii_upper(s)); });
    if (name == "lower") return bind([s](Args&) { return Value::string(ascii_lower(s)); });
    if (name == "title") return bind([s](Args&) { return Value::string(title(s)); });
    if (name == "capitalize") return bind([s](Args&) { return Value::string(capitalize(s)); });
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const bool left = name != "rstrip", right = name != "lstrip";
        return bind([s, left, right, hp](Args& a) {
            const Value* c = a.get(0, "chars");
            if (c && !c->is_none()) return Value::string(py_strip(s, left, right, &require_string(*hp, c, "strip()").s));
            return Value::string(py_strip(s, left, right));
        });
    }
    if (name == "startswith" || name == "endswith") {
        const bool start = name == "startswith";
        return bind([s, start, hp](Args& a) { return Value::boolean(starts_or_ends(*hp, s, a.get(0, "prefix"), start)); });
    }
    if (name == "split")
        return bind([s, hp](Args& a) {
            const Value* m = a.get(1, "maxsplit");
            return split(*hp, s, a.get(0, "sep"), m ? require_int(*hp, m, "split()") : -1);
        });
    if (name == "replace")
        return bind([s, hp](Args& a) {
            const Value* c = a.get(2, "count");
            return Value::string(replace(*hp, s, require_string(*hp, a.get(0, "old"), "replace()").s,
                                         require_string(*hp, a.get(1, "new"), "replace()").s, c ? require_int(*hp, c, "replace()") : -1));
        });
    if (name == "find" || name == "count")
        return bind([s, hp, name](Args& a) {
            const std::string& sub = require_string(*hp, a.get(0, "sub"), "find()").s;
            if (name == "find") {
                const size_t f = s.find(sub);
                if (f == std::string::npos) return Value::integer(-1);
                return Value::integer(static_cast<int64_t>(code_point_offsets(s.substr(0, f)).size() - 1));
            }
            if (sub.empty()) return Value::integer(static_cast<int64_t>(code_point_offsets(s).size()));
            int64_t n = 0;
            for (size_t k = s.find(sub); k != std::string::npos; k = s.find(sub, k + sub.size())) ++n;
            return Value::integer(n);
        });
    if (name == "splitlines")
        return bind([s](Args&) {
            Array out;
            size_t k = 0;
            while (k < s.size()) {
                const size_t f = s.find_first_of("\r\n", k);
                if (f == std::string::npos) {
                    out.push_back(Value::string(s.substr(k)));
                    break;
                }
                out.push_back(Value::string(s.substr(k, f - k)));
                k = f + ((s[f] == '\r' && f + 1 < s.size() && s[f + 1] == '\n') ? 2 : 1);
            }
            return Value::array(std::move(out));
        });
    if (name == "join")
        return bind([s, hp](Args& a) {
            const Value* items = a.get(0, "iterable");
            if (!items || !items->is_array()) hp->fail("join() takes a list");
            std::string out;
            for (size_t k = 0; k < items->arr->size(); ++k) {
                if (k) out += s;
                out += require_string(*hp, &(*items->arr)[k], "join()").s;
                hp->check_size(out.size());
            }
            return Value::string(std::move(out));
        });
    return Value::undefined(name);
}

Value dict_method(Host& h, const Value& obj, const std::string& name) {
    Host* hp = &h;
    if (name == "items")
        return Value::function([obj](Args&) {
            Array out;
            for (const auto& kv : *obj.obj) out.push_back(Value::tuple({Value::string(kv.first), kv.second}));
            return Value::array(std::move(out));
        });
    if (name == "keys")
        return Value::function([obj](Args&) {
            Array out;
            for (const auto& kv : *obj.obj) out.push_back(Value::string(kv.first));
            return Value::array(std::move(out));
        });
    if (name == "values")
        return Value::function([obj](Args&) {
            Array out;
            for (const auto& kv : *obj.obj) out.push_back(kv.second);
            return Value::array(std::move(out));
        });
    if (name == "get")
        return Value::function([obj, hp](Args& a) {
            const Value* key = a.get(0, "key");
            if (!key) hp->fail("get() takes a key");
            const Value* d = a.get(1, "default");
            if (key->is_string())
                if (const Value* v = obj.find(key->s)) return *v;
            return d ? *d : Value::none();
        });
    return Value::undefined(name);
}

// Attributes by a dotted path ("function.name"), as Jinja's attribute arguments of map/selectattr/join.
Value attribute_path(Host& h, const Value& v, const std::string& path) {
    Value cur = v;
    size_t k = 0;
    while (true) {
        const size_t dot = path.find('.', k);
        const std::string part = path.substr(k, dot == std::string::npos ? std::string::npos : dot - k);
        const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
        cur = numeric ? get_item(h, cur, Value::integer(std::stoll(part))) : get_item(h, cur, Value::string(part));
        if (dot == std::string::npos) return cur;
        k = dot + 1;
    }
}


int64_t length_of(Host& h, const Value& v) {
    switch (v.kind) {
        case Value::Kind::Undefined: return 0;
        case Value::Kind::String: return static_cast<int64_t>(code_point_offsets(v.s).size() - 1);
        case Value::Kind::Array: return static_cast<int64_t>(v.arr->size());
        case Value::Kind::Object: return static_cast<int64_t>(v.obj->size());
        default: h.fail(std::string("object of type '") + type_name(v) + "' has no len()");
    }
}

bool contains(Host& h, const Value& container, const Value& item) {
    h.charge_size(container);
    switch (container.kind) {
        case Value::Kind::Undefined: return false;
        case Value::Kind::String:
            if (!item.is_string()) h.fail(std::string("'in <string>' requires string as left operand, not ") + type_name(item));
            return container.s.find(item.s) != std::string::npos;
        case Value::Kind::Array:
            for (const auto& x : *container.arr)
                if (equals(x, item)) return true;
            return false;
        case Value::Kind::Object: return item.is_string() && container.find(item.s) != nullptr;
        default: h.fail(std::string("argument of type '") + type_name(container) + "' is not iterable");
    }
}

bool is_intlike(const Value& v) { return v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool; }
int64_t int_of(const Value& v) { return v.kind == Value::Kind::Int ? v.i : v.b; }

[[noreturn]] void bad_operands(Host& h, const std::string& op, const Value& a, const Value& b) {
    if (a.is_undefined()) undefined_use(h, a);
    if (b.is_undefined()) undefined_use(h, b);
    h.fail("unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

Value repeat(Host& h, const Value& seq, int64_t n) {
    if (n <= 0) return seq.is_string() ? Value::string("") : Value::array();
    if (seq.is_string()) {
        h.check_size(seq.s.size() * static_cast<size_t>(std::min<int64_t>(n, int64_t{1} << 40)));
        h.charge((seq.s.size() * static_cast<size_t>(n)) >> 10);
        std::string out;
        for (int64_t k = 0; k < n; ++k) out += seq.s;
        return Value::string(std::move(out));
    }
    h.check_size(seq.arr->size() * static_cast<size_t>(std::min<int64_t>(n, int64_t{1} << 40)));
    Array out;
    for (int64_t k = 0; k < n; ++k) {
        h.charge(seq.arr->size() + 1);
        out.insert(out.end(), seq.arr->begin(), seq.arr->end());
    }
    return seq.is_tuple ? Value::tuple(std::move(out)) : Value::array(std::move(out));
}

Value arithmetic(Host& h, const std::string& op, const Value& a, const Value& b) {
    if (!a.is_number() || !b.is_number()) bad_operands(h, op, a, b);
    if (is_intlike(a) && is_intlike(b) && op != "/") {
        const int64_t x = int_of(a), y = int_of(b);
        int64_t r = 0;
        if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value::integer(r);
        if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::integer(r);
        if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::integer(r);
        if (op == "//" || op == "%") {
            if (y == 0) h.fail("integer division or modulo by zero");
            if (x == std::numeric_limits<int64_t>::min() && y == -1) h.fail("integer overflow");
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                --q;
                m += y;
            }
            return Value::integer(op == "//" ? q : m);
        }
        if (op == "**" && y >= 0) {
            int64_t p = 1;
            bool overflow = false;
            for (int64_t k = 0; k < y && !overflow; ++k) overflow = __builtin_mul_overflow(p, x, &p);
            if (!overflow) return Value::integer(p);
        }
        if (op == "**" && y < 0) return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
        h.fail("integer overflow in " + op);
    }
    const double x = a.as_double(), y = b.as_double();
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (op == "**") return Value::number(std::pow(x, y));
    if (y == 0) h.fail("division by zero");
    if (op == "/") return Value::number(x / y);
    if (op == "//") return Value::number(std::floor(x / y));
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::number(m);
}

int64_t slice_bound(Host& h, const Value& v, int64_t dflt) {
    if (v.is_none() || v.is_undefined()) return dflt;
    if (!is_intlike(v)) h.fail("slice indices must be integers or None");
    return int_of(v);
}

// --- filters ---

Value filter_tojson(Host& h, const Value& v, Args& a) {
    int indent = -1;
    if (const Value* i = a.get(1, "indent"); i && !i->is_none()) {
        const int64_t n = require_int(h, i, "tojson(indent)");
        indent = static_cast<int>(std::clamp<int64_t>(n, 0, 64));
    }
    std::string item_sep, key_sep;
    bool custom = false;
    if (const Value* s = a.get(2, "separators"); s && !s->is_none()) {
        if (!s->is_array() || s->arr->size() != 2 || !(*s->arr)[0].is_string() || !(*s->arr)[1].is_string())
            h.fail("tojson(separators) takes two strings");
        item_sep = (*s->arr)[0].s;
        key_sep = (*s->arr)[1].s;
        custom = true;
    }
    const Value* sk = a.get(3, "sort_keys");
    try {
        std::string out = to_json(v, indent, sk && sk->truthy(), custom ? &item_sep : nullptr, custom ? &key_sep : nullptr);
        h.check_size(out.size());
        h.charge(out.size() >> 10);
        return Value::string(std::move(out));
    } catch (const Error& e) {
        h.fail(e.what());
    }
}

Array select_items(Host& h, const Value& v, Args& a, bool by_attribute, bool keep_when) {
    Array out;
    size_t first_test_arg = by_attribute ? 1 : 0;
    std::string attr;
    if (by_attribute) {
        if (a.positional.empty() || !a.positional[0].is_string()) h.fail("selectattr/rejectattr take an attribute name");
        attr = a.positional[0].s;
    }
    for (const Value& item : to_list(h, v)) {
        h.step();
        const Value target = by_attribute ? attribute_path(h, item, attr) : item;
        bool pass;
        if (a.positional.size() <= first_test_arg) {
            pass = target.truthy();
        } else {
            if (!a.positional[first_test_arg].is_string()) h.fail("the test name must be a string");
            Args test_args;
            test_args.positional.assign(a.positional.begin() + static_cast<long>(first_test_arg) + 1, a.positional.end());
            pass = h.test(a.positional[first_test_arg].s, target, test_args);
        }
        if (pass == keep_when) out.push_back(item);
    }
    return out;
}

std::string sort_key_text(const Value& v, bool case_sensitive) { return case_sensitive ? v.s : ascii_lower(v.s); }

bool sort_less(const Value& x, const Value& y, bool case_sensitive) {
    if (x.is_string() && y.is_string()) return sort_key_text(x, case_sensitive) < sort_key_text(y, case_sensitive);
    return less_than(x, y);
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

Array to_list(Host& h, const Value& v) {
    switch (v.kind) {
        case Value::Kind::Undefined: return {};
        case Value::Kind::Array: return *v.arr;
        case Value::Kind::Object: {
            Array keys;
            for (const auto& kv : *v.obj) keys.push_back(Value::string(kv.first));
            return keys;
        }
        case Value::Kind::String: {
            Array chars;
            const auto cps = code_point_offsets(v.s);
            h.charge(cps.size());
            for (size_t k = 0; k + 1 < cps.size(); ++k) chars.push_back(Value::string(v.s.substr(cps[k], cps[k + 1] - cps[k])));
            return chars;
        }
        default: h.fail(std::string("'") + type_name(v) + "' object is not iterable");
    }
}

Value get_attribute(Host& h, const Value& obj, const std::string& name, bool item_first) {
    switch (obj.kind) {
        case Value::Kind::Undefined: undefined_use(h, obj);
        case Value::Kind::String: return string_method(h, obj.s, name);
        case Value::Kind::Object: {
            if (obj.is_namespace) {
                const Value* v = obj.find(name);
                return v ? *v : Value::undefined(name);
            }
            if (item_first)
                if (const Value* v = obj.find(name)) return *v;
            Value m = dict_method(h, obj, name);
            if (!m.is_undefined()) return m;
            const Value* v = obj.find(name);
            return v ? *v : Value::undefined(name);
        }
        default: return Value::undefined(name);
    }
}

Value get_item(Host& h, const Value& obj, const Value& key) {
    if (obj.is_undefined()) undefined_use(h, obj);
    if (key.is_string() && (obj.is_object() || obj.is_string())) return get_attribute(h, obj, key.s, true);
    if (is_intlike(key)) {
        int64_t k = int_of(key);
        if (obj.is_array()) {
            const int64_t n = static_cast<int64_t>(obj.arr->size());
            if (k < 0) k += n;
            if (k < 0 || k >= n) return Value::undefined("item " + std::to_string(int_of(key)));
            return (*obj.arr)[static_cast<size_t>(k)];
        }
        if (obj.is_string()) {
            const auto cps = code_point_offsets(obj.s);
            const int64_t n = static_cast<int64_t>(cps.size()) - 1;
            if (k < 0) k += n;
            if (k < 0 || k >= n) return Value::undefined("item " + std::to_string(int_of(key)));
            return Value::string(obj.s.substr(cps[static_cast<size_t>(k)], cps[static_cast<size_t>(k) + 1] - cps[static_cast<size_t>(k)]));
        }
    }
    return Value::undefined(key.is_string() ? key.s : to_str(key));
}

Value slice(Host& h, const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
    if (obj.is_undefined()) undefined_use(h, obj);
    if (!obj.is_array() && !obj.is_string()) h.fail(std::string("'") + type_name(obj) + "' object is not subscriptable");
    const int64_t step = slice_bound(h, step_v, 1);
    if (step == 0) h.fail("slice step cannot be zero");
    std::vector<size_t> cps;
    int64_t n;
    if (obj.is_string()) {
        cps = code_point_offsets(obj.s);
        n = static_cast<int64_t>(cps.size()) - 1;
    } else {
        n = static_cast<int64_t>(obj.arr->size());
    }
    // Python's slice.indices()
    auto clampi = [&](int64_t v, bool is_start) {
        if (v < 0) {
            v += n;
            if (v < 0) v = step < 0 ? -1 : 0;
        } else if (v >= n) {
            v = step < 0 ? n - 1 : n;
        }
        (void)is_start;
        return v;
    };
    int64_t start = start_v.is_none() || start_v.is_undefined() ? (step < 0 ? n - 1 : 0) : clampi(slice_bound(h, start_v, 0), true);
    int64_t stop = stop_v.is_none() || stop_v.is_undefined() ? (step < 0 ? -1 : n) : clampi(slice_bound(h, stop_v, 0), false);
    if (obj.is_string()) {
        std::string out;
        for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step)
            out.append(obj.s, cps[static_cast<size_t>(k)], cps[static_cast<size_t>(k) + 1] - cps[static_cast<size_t>(k)]);
        return Value::string(std::move(out));
    }
    Array out;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) out.push_back((*obj.arr)[static_cast<size_t>(k)]);
    return obj.is_tuple ? Value::tuple(std::move(out)) : Value::array(std::move(out));
}

namespace {

bool equals_charged(Host& h, const Value& a, const Value& b) {
    h.charge_size(a);
    return equals(a, b);  // too much work throws Error(TTT_ERR_INVALID_ARGUMENT), positioned by the evaluator
}

}  // namespace

Value binary_op(Host& h, const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return Value::boolean(equals_charged(h, a, b));
    if (op == "!=") return Value::boolean(!equals_charged(h, a, b));
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
        try {
            if (op == "<") return Value::boolean(less_than(a, b));
            if (op == ">") return Value::boolean(less_than(b, a));
            if (op == "<=") return Value::boolean(less_than(a, b) || equals(a, b));
            return Value::boolean(less_than(b, a) || equals(a, b));
        } catch (const Error& e) {
            h.fail(e.what());
        }
    }
    if (op == "in") return Value::boolean(contains(h, b, a));
    if (op == "not in") return Value::boolean(!contains(h, b, a));
    if (op == "~") {
        // A value too large to print throws Error(TTT_ERR_INVALID_ARGUMENT); the evaluator adds the position.
        std::string s = to_str(a, 64u << 20);
        const std::string t = to_str(b, 64u << 20);
        h.check_size(s.size() + t.size());
        s += t;
        h.charge(s.size() >> 10);
        return Value::string(std::move(s));
    }
    if (op == "+") {
        if (a.is_string() && b.is_string()) {
            h.check_size(a.s.size() + b.s.size());
            h.charge((a.s.size() + b.s.size()) >> 10);
            return Value::string(a.s + b.s);
        }
        if (a.is_array() && b.is_array()) {
            h.charge(a.arr->size() + b.arr->size());
            Array out = *a.arr;
            out.insert(out.end(), b.arr->begin(), b.arr->end());
            return Value::array(std::move(out));
        }
        return arithmetic(h, op, a, b);
    }
    if (op == "*") {
        if ((a.is_string() || a.is_array()) && is_intlike(b)) return repeat(h, a, int_of(b));
        if ((b.is_string() || b.is_array()) && is_intlike(a)) return repeat(h, b, int_of(a));
        return arithmetic(h, op, a, b);
    }
    if (op == "%" && a.is_string()) h.fail("printf-style string formatting ('%' on a string) is not supported");
    return arithmetic(h, op, a, b);
}

bool apply_test(Host& h, const std::string& name, const Value& v, Args& a) {
    const Value* arg = a.get(0, "value");
    using K = Value::Kind;
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "boolean") return v.kind == K::Bool;
    if (name == "true") return v.kind == K::Bool && v.b;
    if (name == "false") return v.kind == K::Bool && !v.b;
    if (name == "integer") return v.kind == K::Int;
    if (name == "float") return v.kind == K::Float;
    if (name == "number") return v.is_number();
    if (name == "string") return v.is_string();
    if (name == "mapping") return v.is_object() && !v.is_namespace;
    if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_array() || (v.is_object() && !v.is_namespace);
    if (name == "sequence") return v.is_string() || v.is_array() || (v.is_object() && !v.is_namespace);
    if (name == "callable") return v.kind == K::Function;
    if (name == "lower") return v.is_string() && ascii_lower(v.s) == v.s;
    if (name == "upper") return v.is_string() && ascii_upper(v.s) == v.s;
    if (name == "odd" || name == "even") {
        if (!is_intlike(v)) h.fail("the " + name + " test takes an integer");
        const bool odd = (int_of(v) % 2) != 0;
        return name == "odd" ? odd : !odd;
    }
    if (name == "divisibleby") {
        const int64_t d = require_int(h, arg, "divisibleby");
        if (d == 0) h.fail("divisibleby(0)");
        if (!is_intlike(v)) h.fail("the divisibleby test takes an integer");
        return int_of(v) % d == 0;
    }
    if (!arg && (name == "eq" || name == "equalto" || name == "==" || name == "ne" || name == "!=" || name == "in" ||
                 name == "sameas" || name == "lt" || name == "gt" || name == "le" || name == "ge"))
        h.fail("the " + name + " test takes an argument");
    if (name == "eq" || name == "equalto" || name == "==") return equals(v, *arg);
    if (name == "ne" || name == "!=") return !equals(v, *arg);
    if (name == "in") return contains(h, *arg, v);
    if (name == "lt" || name == "<") return binary_op(h, "<", v, *arg).b;
    if (name == "gt" || name == ">") return binary_op(h, ">", v, *arg).b;
    if (name == "le" || name == "<=") return binary_op(h, "<=", v, *arg).b;
    if (name == "ge" || name == ">=") return binary_op(h, ">=", v, *arg).b;
    if (name == "sameas") {
        if (v.kind != arg->kind) return false;
        switch (v.kind) {
            case K::None:
            case K::Undefined: return true;
            case K::Bool: return v.b == arg->b;
            case K::Int: return v.i == arg->i;
            case K::Array: return v.arr == arg->arr;
            case K::Object: return v.obj == arg->obj;
            default: return equals(v, *arg);
        }
    }
    h.fail("no test named '" + name + "'");
}

namespace {

// items: (key, value) pairs of a mapping.
Value filter_items(Host& h, const Value& v) {
    if (v.is_undefined()) return Value::array();
    if (!v.is_object()) h.fail(std::string("the items filter takes a mapping, not '") + type_name(v) + "'");
    Array out;
    for (const auto& kv : *v.obj) out.push_back(Value::tuple({Value::string(kv.first), kv.second}));
    return Value::array(std::move(out));
}

// reverse: a list backwards, or a string by code points.
Value filter_reverse(Host& h, const Value& v) {
    if (v.is_string()) {
        Array chars = to_list(h, v);
        std::string out;
        for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->s;
        return Value::string(std::move(out));
    }
    Array items = to_list(h, v);
    std::reverse(items.begin(), items.end());
    return Value::array(std::move(items));
}

// join(d, attribute): the items as strings with a separator.
Value filter_join(Host& h, const Value& v, Args& a) {
    const Value* sep = a.get(0, "d");
    const Value* attr = a.get(1, "attribute");
    std::string s = sep ? to_str(*sep) : std::string();
    std::string out;
    bool first = true;
    for (const Value& item : to_list(h, v)) {
        h.step();
        if (!first) out += s;
        first = false;
        out += to_str(attr && !attr->is_none() ? attribute_path(h, item, to_str(*attr)) : item);
        h.check_size(out.size());
    }
    return Value::string(std::move(out));
}

// map(filter, ...) or map(attribute=, default=): each item through a filter or its attribute.
Value filter_map(Host& h, const Value& v, Args& a) {
    Array out;
    const Value* attr = nullptr;
    for (const auto& kv : a.named)
        if (kv.first == "attribute") attr = &kv.second;
    const Value* dflt = nullptr;
    for (const auto& kv : a.named)
        if (kv.first == "default") dflt = &kv.second;
    for (const Value& item : to_list(h, v)) {
        h.step();
        if (attr) {
            Value x = attribute_path(h, item, to_str(*attr));
            out.push_back(x.is_undefined() && dflt ? *dflt : x);
        } else {
            if (a.positional.empty() || !a.positional[0].is_string()) h.fail("map takes a filter name or attribute=");
            Args fa;
            fa.positional.assign(a.positional.begin() + 1, a.positional.end());
            out.push_back(apply_filter(h, a.positional[0].s, item, fa));
        }
    }
    return Value::array(std::move(out));
}

// int(default): Python int() of numbers and whole-number strings.
Value filter_int(const Value& v, Args& a) {
    using K = Value::Kind;
    if (v.kind == K::Int) return v;
    if (v.kind == K::Bool) return Value::integer(v.b);
    if (v.kind == K::Float && std::isfinite(v.f) && std::fabs(v.f) < 9.2e18) return Value::integer(static_cast<int64_t>(v.f));
    if (v.is_string()) {
        try {
            size_t used = 0;
            const std::string s = py_strip(v.s, true, true);
            const long long x = std::stoll(s, &used, 10);
            if (used == s.size()) return Value::integer(x);
        } catch (...) {
        }
    }
    const Value* d = a.get(0, "default");
    return d ? *d : Value::integer(0);
}

// float(default): Python float() of numbers and numeric strings.
Value filter_float(const Value& v, Args& a) {
    if (v.is_number()) return Value::number(v.as_double());
    if (v.is_string()) {
        try {
            size_t used = 0;
            const std::string s = py_strip(v.s, true, true);
            const double x = std::stod(s, &used);
            if (used == s.size()) return Value::number(x);
        } catch (...) {
        }
    }
    const Value* d = a.get(0, "default");
    return d ? *d : Value::number(0);
}

// round(precision): Python round(), half to even.
Value filter_round(Host& h, const Value& v, Args& a) {
    if (!v.is_number()) h.fail("round takes a number");
    const Value* p = a.get(0, "precision");
    const int64_t prec = p ? require_int(h, p, "round") : 0;
    const double scale = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(prec, -15, 15)));
    const double x = v.as_double() * scale;
    const double r = std::nearbyint(x);  // round half to even, as Python's round()
    return Value::number(r / scale);
}

// sort, unique, min, max, dictsort, sum (reverse=, case_sensitive=, attribute=, start=): the orderings and folds of a list.
Value filter_ordering(Host& h, const std::string& name, const Value& v, Args& a) {
    bool reverse = false, case_sensitive = false;
    std::string attribute;
    for (const auto& kv : a.named) {
        if (kv.first == "reverse") reverse = kv.second.truthy();
        if (kv.first == "case_sensitive") case_sensitive = kv.second.truthy();
        if (kv.first == "attribute") attribute = to_str(kv.second);
    }
    if (name == "dictsort") {
        if (!v.is_object()) h.fail("dictsort takes a mapping");
        Array items;
        for (const auto& kv : *v.obj) items.push_back(Value::tuple({Value::string(kv.first), kv.second}));
        std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
            return sort_less((*x.arr)[0], (*y.arr)[0], case_sensitive);
        });
        return Value::array(std::move(items));
    }
    Array items = to_list(h, v);
    if (name == "sum") {
        Value total = Value::integer(0);
        for (const auto& kv : a.named)
            if (kv.first == "start") total = kv.second;
        for (const Value& x : items) total = binary_op(h, "+", total, attribute.empty() ? x : attribute_path(h, x, attribute));
        return total;
    }
    const auto key = [&](const Value& x) { return attribute.empty() ? x : attribute_path(h, x, attribute); };
    const uint64_t n = items.size();
    h.charge(name == "unique" ? n * n / 2 : n * (64 - static_cast<uint64_t>(__builtin_clzll(n | 1))));
    try {
        if (name == "unique") {
            Array out;
            for (const Value& x : items) {
                bool seen = false;
                for (const Value& y : out) {
                    const Value kx = key(x), ky = key(y);
                    seen = seen || (kx.is_string() && ky.is_string() && !case_sensitive ? ascii_lower(kx.s) == ascii_lower(ky.s) : equals(kx, ky));
                }
                if (!seen) out.push_back(x);
            }
            return Value::array(std::move(out));
        }
        if (name == "min" || name == "max") {
            if (items.empty()) return Value::undefined(name);
            Value best = items[0];
            for (const Value& x : items) {
                const bool better = name == "min" ? sort_less(key(x), key(best), case_sensitive) : sort_less(key(best), key(x), case_sensitive);
                if (better) best = x;
            }
            return best;
        }
        std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
            return reverse ? sort_less(key(y), key(x), case_sensitive) : sort_less(key(x), key(y), case_sensitive);
        });
    } catch (const Error& e) {
        h.fail(e.what());
    }
    return Value::array(std::move(items));
}

// indent(width, first, blank): every line but the first (unless asked) padded.
Value filter_indent(Host& h, const Value& v, Args& a) {
    const Value* w = a.get(0, "width");
    const Value* first = a.get(1, "first");
    const Value* blank = a.get(2, "blank");
    const std::string pad = w && w->is_string() ? w->s : std::string(static_cast<size_t>(std::clamp<int64_t>(w ? require_int(h, w, "indent") : 4, 0, 256)), ' ');
    const std::string s = to_str(v);
    std::string out;
    size_t k = 0;
    bool first_line = true;
    while (k <= s.size()) {
        size_t e = s.find('\n', k);
        const std::string line = s.substr(k, e == std::string::npos ? std::string::npos : e - k);
        const bool add = first_line ? (first && first->truthy()) : (!line.empty() || (blank && blank->truthy()));
        if (add) out += pad;
        out += line;
        h.check_size(out.size());
        if (e == std::string::npos) break;
        out += '\n';
        k = e + 1;
        first_line = false;
    }
    return Value::string(std::move(out));
}

}  // namespace

Value apply_filter(Host& h, const std::string& name, const Value& v, Args& a) {
    using K = Value::Kind;
    h.charge_size(v);
    if (name == "trim") {
        const Value* c = a.get(0, "chars");
        if (c && !c->is_none()) return Value::string(py_strip(to_str(v), true, true, &require_string(h, c, "trim").s));
        return Value::string(py_strip(to_str(v), true, true));
    }
    if (name == "length" || name == "count") return Value::integer(length_of(h, v));
    if (name == "tojson") return filter_tojson(h, v, a);
    if (name == "string") return Value::string(to_str(v));
    if (name == "safe") return v;
    if (name == "e" || name == "escape" || name == "forceescape") return Value::string(html_escape(to_str(v)));
    if (name == "upper") return Value::string(ascii_upper(to_str(v)));
    if (name == "lower") return Value::string(ascii_lower(to_str(v)));
    if (name == "capitalize") return Value::string(capitalize(to_str(v)));
    if (name == "title") return Value::string(title(to_str(v)));
    if (name == "items") return filter_items(h, v);
    if (name == "list") return Value::array(to_list(h, v));
    if (name == "first" || name == "last") {
        if (v.is_undefined()) undefined_use(h, v);
        Array items = to_list(h, v);
        if (items.empty()) return Value::undefined(name);
        return name == "first" ? items.front() : items.back();
    }
    if (name == "reverse") return filter_reverse(h, v);
    if (name == "join") return filter_join(h, v, a);
    if (name == "default" || name == "d") {
        const Value* dv = a.get(0, "default_value");
        const Value* boolean = a.get(1, "boolean");
        const bool use_default = v.is_undefined() || (boolean && boolean->truthy() && !v.truthy());
        if (use_default) return dv ? *dv : Value::string("");
        return v;
    }
    if (name == "select") return Value::array(select_items(h, v, a, false, true));
    if (name == "reject") return Value::array(select_items(h, v, a, false, false));
    if (name == "selectattr") return Value::array(select_items(h, v, a, true, true));
    if (name == "rejectattr") return Value::array(select_items(h, v, a, true, false));
    if (name == "map") return filter_map(h, v, a);
    if (name == "attr") return get_attribute(h, v, require_string(h, a.get(0, "name"), "attr").s, false);
    if (name == "replace") {
        const Value* c = a.get(2, "count");
        return Value::string(replace(h, to_str(v), to_str(*(a.get(0, "old") ? a.get(0, "old") : &v)),
                                     a.get(1, "new") ? to_str(*a.get(1, "new")) : std::string(),
                                     c && !c->is_none() ? require_int(h, c, "replace") : -1));
    }
    if (name == "int") return filter_int(v, a);
    if (name == "float") return filter_float(v, a);
    if (name == "abs") {
        if (v.kind == K::Int) return Value::integer(v.i < 0 ? -v.i : v.i);
        if (v.kind == K::Float) return Value::number(std::fabs(v.f));
        h.fail(std::string("bad operand type for abs(): '") + type_name(v) + "'");
    }
    if (name == "round") return filter_round(h, v, a);
    if (name == "sort" || name == "unique" || name == "min" || name == "max" || name == "dictsort" || name == "sum")
        return filter_ordering(h, name, v, a);
    if (name == "indent") return filter_indent(h, v, a);
    h.fail("no filter named '" + name + "'");
}

}  // namespace ttt::chat
