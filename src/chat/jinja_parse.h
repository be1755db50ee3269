// Template text -> statements: a lexer that follows Jinja2's whitespace rules exactly as transformers configures
// them (trim_blocks and lstrip_blocks on, {%- -%} and {%+ +%} control, one trailing newline dropped, newlines
// normalised to \n) and a recursive-descent parser for the Jinja subset chat templates use.
// Errors are Error(TTT_ERR_FORMAT) with "line L, column C" of the template.
#pragma once

#include <string>
#include <string_view>

#include "chat/jinja_ast.h"

namespace ttt::chat {

struct ParsedTemplate {
    std::string source;  // the template after newline normalisation (offsets in the nodes point into it)
    Body body;
};

// Nesting of blocks and expressions deeper than this is refused (bounds the parser's and evaluator's recursion).
constexpr int kMaxNesting = 64;
// Expression trees deeper than this are refused (a chain such as a.b.c... or 1+1+1... counts each link).
constexpr int kMaxExprDepth = 256;

ParsedTemplate parse_template(std::string_view text);

// "line L, column C" of an offset in `source` (column counted in bytes, from 1).
std::string describe_position(const std::string& source, size_t pos);

}  // namespace ttt::chat
