// Chat templates: a model's conversation format, as the Jinja template of its tokenizer_config.json, rendered
// with the same variables transformers' apply_chat_template passes (messages, tools = None, documents = None,
// add_generation_prompt, bos_token, eos_token, plus any extra variables of the caller).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "chat/jinja_eval.h"

namespace ttt::chat {

// What a tokenizer_config.json says about chat: its template ("" when it has none) and special tokens.
struct ChatConfig {
    std::string chat_template;
    std::string bos_token;
    std::string eos_token;
};

// Read tokenizer_config.json text. "chat_template" may be a string or a list of {"name", "template"} (the one
// named "default" is used, else the first); bos_token/eos_token may be strings or {"content": ...} objects.
// Throws Error(TTT_ERR_FORMAT) naming `what` for malformed JSON or fields of the wrong type.
ChatConfig read_chat_config(std::string_view tokenizer_config_json, const std::string& what);

struct ChatRequest {
    std::string_view messages_json;  // a JSON array of {"role": ..., "content": ...} objects (other keys pass through)
    bool add_generation_prompt = true;
    std::string bos_token;
    std::string eos_token;
    std::string_view extra_json;     // "" or a JSON object of further variables (tools, date_string, ...)
    RenderLimits limits;
};

class ChatTemplate {
public:
    // Parses the template once; throws Error(TTT_ERR_FORMAT) with the line and column of a bad template.
    explicit ChatTemplate(std::string_view text);
    // The prompt for a conversation. Throws Error(TTT_ERR_FORMAT) for bad messages JSON or a failing template,
    // Error(TTT_ERR_INVALID_ARGUMENT) when the template refuses the conversation or a limit is reached.
    std::string apply(const ChatRequest& request) const;

private:
    ParsedTemplate parsed_;
};

}  // namespace ttt::chat
