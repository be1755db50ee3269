// The values a chat template computes with: Python's (Jinja runs on Python), so that a template renders here
// exactly as in `transformers`: None/True print as "None"/"True", a list prints as ['a', 1], + refuses to add a
// string to a number, ints and floats compare equal, dicts keep their insertion order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

namespace ttt::chat {

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python dicts
struct Args;
constexpr int kMaxValueDepth = 256;
using Function = std::function<Value(Args&)>;

struct Value {
    enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Function };
    Kind kind = Kind::Undefined;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;                   // String (also the name of an undefined variable, for messages)
    std::shared_ptr<Array> arr;      // Array (shared like Python lists; templates cannot mutate them)
    std::shared_ptr<Object> obj;     // Object
    bool is_namespace = false;       // an Object made by namespace(): the only thing `set x.y = ...` may change
    bool is_tuple = false;           // an Array that prints as (a, b) and differs from a list, as in Python
    // Lists and dicts know how deep they nest and whether a namespace is inside: values nest at most kMaxValueDepth
    // levels (printing, comparing and freeing them recurse), and a namespace never holds one (so no cycles).
    int depth = 0;
    bool holds_namespace = false;
    std::shared_ptr<Function> fn;    // Function (a global, or a bound method such as "abc".upper)

    static Value undefined(std::string name = {});
    static Value none();
    static Value boolean(bool v);
    static Value integer(int64_t v);
    static Value number(double v);
    static Value string(std::string v);
    static Value array(Array v = {});
    static Value tuple(Array v);
    static Value object(Object v = {});
    static Value function(Function f);

    bool is_undefined() const { return kind == Kind::Undefined; }
    bool is_none() const { return kind == Kind::None; }
    bool is_string() const { return kind == Kind::String; }
    bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
    bool is_array() const { return kind == Kind::Array; }
    bool is_object() const { return kind == Kind::Object; }

    bool truthy() const;
    double as_double() const;         // for numbers (bool counts as 0/1, as in Python)
    // The member `key` of an object (nullptr when absent); for namespaces, their attributes.
    const Value* find(std::string_view key) const;
    Value* find_mut(std::string_view key);
};

struct Args {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> named;
    // The argument at `index` or named `name`; nullptr when not given.
    const Value* get(size_t index, std::string_view name) const;
};

// Python's type name of a value ("str", "int", "list", "dict", "NoneType", ...), for error messages.
const char* type_name(const Value& v);
// str(v) as Python prints it: the text Jinja outputs for {{ v }} (undefined prints as ""). Printing more than
// max_bytes throws Error(TTT_ERR_INVALID_ARGUMENT) (a list printed inside itself many times over can be huge).
std::string to_str(const Value& v, size_t max_bytes = size_t{16} << 20);
// repr(v): strings quoted the way Python quotes them.
std::string to_repr(const Value& v, size_t max_bytes = size_t{16} << 20);
// Python's == (a shared list or dict equals itself without a walk). Bounded work: comparing structures of more
// than a few million elements throws Error(TTT_ERR_INVALID_ARGUMENT).
bool equals(const Value& a, const Value& b);
// Python's <; throws a message naming both types when they do not compare.
bool less_than(const Value& a, const Value& b);
// Throws Error(TTT_ERR_INVALID_ARGUMENT) when `v` could not be stored in a namespace attribute (it is or holds one).
void check_storable_in_namespace(const Value& v, const std::string& name);
// json.dumps(v, ensure_ascii=False, indent=indent, separators=..., sort_keys=...) as transformers' tojson does;
// indent < 0 means none; separators default as json.dumps's. Throws for values JSON cannot hold (undefined, functions).
std::string to_json(const Value& v, int indent, bool sort_keys, const std::string* item_sep = nullptr,
                    const std::string* key_sep = nullptr);
// A JSON document as template values: objects in document order, integers as int, other numbers as float.
Value from_json(simdjson::dom::element e);
// Python's str.isspace() for the code point at s[k] (UTF-8); *len receives its byte length.
bool py_space_at(const std::string& s, size_t k, size_t* len);
// Python's str.strip/lstrip/rstrip: whitespace, or any of the code points in *chars.
std::string py_strip(const std::string& s, bool left, bool right, const std::string* chars = nullptr);
// Byte offsets where each code point of a UTF-8 string starts, plus s.size() at the end.
std::vector<size_t> code_point_offsets(const std::string& s);
// Python's repr(float): the shortest text that reads back as the same double ("1.0", "0.1", "1e+16", "inf").
std::string float_repr(double d);

}  // namespace ttt::chat
