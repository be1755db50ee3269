// The operations of the template language on values: operators, attribute and item access (with Python's
// str/dict methods), slicing, filters (| trim, | tojson ...) and tests (is defined ...). They report errors and
// charge their work through a Host, the evaluator, which knows the position and the limits.
#pragma once

#include <string>

#include "chat/jinja_value.h"
#include "common/error.h"

namespace ttt::chat {

class Host {
public:
    virtual ~Host() = default;
    // A template error at the current position.
    [[noreturn]] void fail(const std::string& why) { throw error(why); }
    virtual Error error(const std::string& why) = 0;
    virtual void check_size(size_t bytes) = 0;                    // a string about to be built
    virtual void step() = 0;                                      // one unit of iteration work
    virtual void charge(uint64_t units) = 0;                      // several (e.g. elements copied, KiB built)
    // Work proportional to a value's size: its elements, or its text in KiB.
    void charge_size(const Value& v) {
        if (v.is_array()) charge(v.arr->size());
        else if (v.is_object()) charge(v.obj->size());
        else if (v.is_string()) charge(v.s.size() >> 10);
    }
    virtual Value call(const Value& f, Args& args) = 0;
    virtual bool test(const std::string& name, const Value& v, Args& args) = 0;
};

// obj.name: Python methods first (dict.items, str.upper ...), then the member; undefined when absent.
// Using an attribute of an undefined value fails, as Jinja does.
Value get_attribute(Host& h, const Value& obj, const std::string& name, bool item_first);
// obj[key]: members and list/string indices (negative from the end); undefined when absent.
Value get_item(Host& h, const Value& obj, const Value& key);
// obj[start:stop:step] on lists and strings (code points), with Python's rules.
Value slice(Host& h, const Value& obj, const Value& start, const Value& stop, const Value& step);
// + - * / // % ** ~ == != < <= > >= in, "not in".
Value binary_op(Host& h, const std::string& op, const Value& a, const Value& b);
// A value as a for loop iterates it: a list's items, a mapping's keys, a string's characters (code points);
// undefined iterates as nothing; anything else fails ("not iterable").
Array to_list(Host& h, const Value& v);
Value apply_filter(Host& h, const std::string& name, const Value& v, Args& args);
bool apply_test(Host& h, const std::string& name, const Value& v, Args& args);

}  // namespace ttt::chat
