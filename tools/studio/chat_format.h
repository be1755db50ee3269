// How a chat turn is written for the model. A model whose checkpoint has a chat template (tokenizer_config.json,
// ttt_model_chat_template) gets its own format: the whole conversation rendered with ttt_chat_apply_template (with
// the assistant's generation prompt), and the model fed only what it has not read yet (the text after the longest
// common prefix with what it read before: the end of the last reply's turn plus the new user turn), special tokens
// parsed; the reply ends at the checkpoint's end-of-turn token. A model without one (the demo model) gets the plain
// "User: ...\nAssistant:" format of `bit-ttt chat`, ending at "\nUser:". This is bit-ttt chat's TemplateChat, kept
// per character: a soul reset or load starts the conversation afresh.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bit_ttt.h"

namespace studio {

bool model_has_chat_template(const ttt_model* model);

struct TemplateConversation {
    std::vector<std::pair<std::string, std::string>> messages;  // (role, content)
    std::string consumed;  // everything the model has read in this conversation, as text

    // The text to feed for a new user message; throws HttpError 422 (the template's message) when the template
    // refuses the conversation, leaving the conversation as it was.
    std::string prompt_for(const ttt_model* model, const std::string& message);
    void replied(const std::string& reply);
    // The turn given by the last prompt_for was not read after all (the generation could not begin): forget it.
    void unread(const std::string& prompt);
    void reset();
};

}  // namespace studio
