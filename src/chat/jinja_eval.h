// Rendering a parsed template with Jinja's semantics as transformers sets it up (Python values, undefined
// variables that print as "" but fail when used, per-iteration loop scopes, namespace(), raise_exception(),
// tojson with json.dumps's spacing). Bounded: output size, loop iterations + macro calls, and macro depth.
// Errors: Error(TTT_ERR_FORMAT) for a template that fails ("chat template, line L, column C: ..."),
// Error(TTT_ERR_INVALID_ARGUMENT) for raise_exception() (the template refuses the conversation) and for a
// limit reached.
#pragma once

#include <cstdint>
#include <string>

#include "chat/jinja_parse.h"

namespace ttt::chat {

struct RenderLimits {
    size_t max_output_bytes = size_t{16} << 20;  // also the largest string an expression may build
    uint64_t max_steps = 1000000;                 // loop iterations and macro calls, together
    int max_call_depth = 32;                      // macros calling macros
};

// Render `t` with `variables` (messages, bos_token, add_generation_prompt, tools ...) as the template's globals.
std::string render(const ParsedTemplate& t, const Object& variables, const RenderLimits& limits = {});

}  // namespace ttt::chat
