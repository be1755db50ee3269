// Chat templates: the input is "<template>\0<messages JSON>" (with no NUL, the whole input is a template rendered
// over a fixed conversation), through the C ABI. Every input must end in TTT_OK or a documented error, within
// small output and iteration limits (the C ABI's defaults are larger; the interpreter's bounds are the same code).
#include <cstring>
#include <string>
#include <string_view>

#include "chat/chat_template.h"
#include "common/error.h"
#include "fuzz_common.h"

namespace {

const char* kConversation =
    R"([{"role":"system","content":"Be brief."},{"role":"user","content":" Hi "},)"
    R"({"role":"assistant","content":"Hello","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},)"
    R"({"role":"user","content":"Bye"}])";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::quiet_logs();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t nul = input.find('\0');
    const std::string tmpl(input.substr(0, nul));
    const std::string messages = nul == std::string_view::npos ? std::string(kConversation) : std::string(input.substr(nul + 1));
    try {
        ttt::chat::ChatTemplate t(tmpl);
        ttt::chat::ChatRequest r;
        r.messages_json = messages;
        r.bos_token = "<s>";
        r.eos_token = "</s>";
        r.limits.max_output_bytes = 1 << 16;
        r.limits.max_steps = 20000;
        t.apply(r);
        r.add_generation_prompt = false;
        r.extra_json = R"({"tools":[{"type":"function","function":{"name":"f"}}],"date_string":"1 Jan 2030"})";
        t.apply(r);
    } catch (const ttt::Error&) {
        // a documented refusal
    }
    // The same through the C ABI (its firewall must never report a panic).
    ttt_chat_params p;
    ttt_chat_params_init(&p, sizeof p);
    p.chat_template = tmpl.c_str();
    size_t n = 0;
    if (tmpl.size() < 4096) fuzz::check_status(ttt_chat_apply_template(nullptr, messages.data(), messages.size(), &p, nullptr, 0, &n));
    return 0;
}
