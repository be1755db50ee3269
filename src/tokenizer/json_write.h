// JSON string escaping for the tokenizer.json the trainer writes: io/json.h's json_quote (RFC 8259: quote,
// backslash and control characters escaped, the short forms where JSON has them; other UTF-8 written as is).
#pragma once

#include <string>
#include <string_view>

#include "io/json.h"

namespace ttt {

inline void append_json_string(std::string& out, std::string_view s) { out += json_quote(s); }

}  // namespace ttt
