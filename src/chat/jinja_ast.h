// The parsed form of a chat template: statements (text, output, if, for, set, macro ...) holding expressions.
// Every node keeps its offset in the template so that an error while rendering can say where it happened.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja_value.h"

namespace ttt::chat {

struct Expr {
    enum class Kind {
        Literal,    // value
        Name,       // name
        List,       // [items]
        Tuple,      // (items)
        Dict,       // {items[0]: items[1], ...} (keys and values alternate)
        Attr,       // items[0].name
        Item,       // items[0][items[1]]
        Slice,      // items[0][items[1]:items[2]:items[3]] (a missing part is null)
        Call,       // items[0](items[1..]) with names[k] naming argument k+1 ("" positional)
        Filter,     // items[0] | name(items[1..]) with names as for Call
        Test,       // items[0] is [not] name(items[1..]); negated says "is not"
        Unary,      // op items[0]: "-", "+", "not"
        Binary,     // items[0] op items[1]: + - * / // % ** ~ == != < <= > >= in "not in" and or
        Conditional // items[1] if items[0] else items[2] (items[2] null: undefined)
    };
    Kind kind = Kind::Literal;
    size_t pos = 0;
    std::string name;  // Name, Attr, Call/Filter/Test name, operator of Unary/Binary
    Value value;       // Literal
    bool negated = false;
    int depth = 1;  // of the tree under this node (bounded by the parser: evaluating and freeing it recurse)
    std::vector<std::unique_ptr<Expr>> items;
    std::vector<std::string> names;  // argument names of Call/Filter/Test ("" for positional)
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
    enum class Kind {
        Text,      // text
        Output,    // {{ expr }}
        If,        // conditions[k] -> bodies[k]; a final body without condition is the else
        For,       // for targets in expr [if condition]: bodies[0], else bodies[1]
        Set,       // set targets = expr (targets: names, or one "ns.attr")
        SetBlock,  // set targets[0] %} bodies[0] {% endset
        Macro,     // macro name(targets with defaults) bodies[0]
        Break,
        Continue,
        Block      // a body rendered as is ({% generation %} of transformers)
    };
    Kind kind = Kind::Text;
    size_t pos = 0;
    std::string text;
    std::unique_ptr<Expr> expr;
    std::unique_ptr<Expr> condition;                 // For's filter
    std::vector<std::unique_ptr<Expr>> conditions;   // If
    std::vector<Body> bodies;
    std::vector<std::string> targets;
    std::vector<std::unique_ptr<Expr>> defaults;     // Macro: default of targets[k] (null: required)
};

}  // namespace ttt::chat
