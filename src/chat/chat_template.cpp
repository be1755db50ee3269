#include "chat/chat_template.h"

#include "common/error.h"
#include "io/json.h"

namespace ttt::chat {

namespace {

// A special token in tokenizer_config.json: "<s>", {"content": "<s>", ...}, or null.
std::string special_token(simdjson::dom::object root, std::string_view key, const std::string& what) {
    simdjson::dom::element e;
    if (!json_find(root, key, &e)) return {};
    if (e.is_string()) return std::string(e.get_string().value_unsafe());
    if (e.is_object()) {
        std::string content;
        if (json_get_string_opt(e.get_object().value_unsafe(), "content", what + " " + std::string(key), &content)) return content;
        return {};
    }
    fail_format(what + ": field \"" + std::string(key) + "\" must be a string or an object with \"content\", found " +
                json_type_name(e.type()));
}

}  // namespace

ChatConfig read_chat_config(std::string_view tokenizer_config_json, const std::string& what) {
    auto doc = parse_json(tokenizer_config_json, what);
    if (!doc->root.is_object()) fail_format(what + ": the top level must be a JSON object");
    simdjson::dom::object root = doc->root.get_object().value_unsafe();
    ChatConfig c;
    simdjson::dom::element t;
    if (json_find(root, "chat_template", &t)) {
        if (t.is_string()) {
            c.chat_template = std::string(t.get_string().value_unsafe());
        } else if (t.is_array()) {  // named templates: "default" (else the first), as transformers picks
            bool found = false;
            simdjson::dom::array entries = t.get_array().value_unsafe();
            for (simdjson::dom::element item : entries) {
                if (!item.is_object()) fail_format(what + ": \"chat_template\" list entries must be objects");
                std::string name, text;
                json_get_string_opt(item.get_object().value_unsafe(), "name", what + " chat_template", &name);
                if (!json_get_string_opt(item.get_object().value_unsafe(), "template", what + " chat_template", &text))
                    fail_format(what + ": a \"chat_template\" list entry has no \"template\"");
                if (!found || name == "default") c.chat_template = text;
                if (name == "default") break;
                found = true;
            }
        } else {
            fail_format(what + ": field \"chat_template\" must be a string or a list, found " + json_type_name(t.type()));
        }
    }
    c.bos_token = special_token(root, "bos_token", what);
    c.eos_token = special_token(root, "eos_token", what);
    return c;
}

ChatTemplate::ChatTemplate(std::string_view text) : parsed_(parse_template(text)) {}

std::string ChatTemplate::apply(const ChatRequest& r) const {
    auto messages_doc = parse_json(r.messages_json, "the chat messages");
    if (!messages_doc->root.is_array()) fail_format("the chat messages must be a JSON array of message objects");
    size_t index = 0;
    simdjson::dom::array messages = messages_doc->root.get_array().value_unsafe();
    for (simdjson::dom::element m : messages) {
        if (!m.is_object()) fail_format("chat message " + std::to_string(index) + " must be a JSON object");
        simdjson::dom::element role;
        if (!json_find(m.get_object().value_unsafe(), "role", &role) || !role.is_string())
            fail_format("chat message " + std::to_string(index) + " needs a \"role\" string");
        ++index;
    }
    // The variables transformers passes: tools and documents are defined (None) unless given.
    Object vars{{"messages", from_json(messages_doc->root)},
                {"tools", Value::none()},
                {"documents", Value::none()},
                {"add_generation_prompt", Value::boolean(r.add_generation_prompt)},
                {"bos_token", Value::string(r.bos_token)},
                {"eos_token", Value::string(r.eos_token)}};
    if (!r.extra_json.empty()) {
        auto extra = parse_json(r.extra_json, "the chat template's extra variables");
        if (!extra->root.is_object()) fail_format("the chat template's extra variables must be a JSON object");
        Value v = from_json(extra->root);
        for (auto& kv : *v.obj) {
            bool replaced = false;
            for (auto& old : vars)
                if (old.first == kv.first) {
                    old.second = kv.second;
                    replaced = true;
                }
            if (!replaced) vars.push_back(kv);
        }
    }
    return render(parsed_, vars, r.limits);
}

}  // namespace ttt::chat
