// Golden test: our chat-template interpreter against transformers' apply_chat_template renderer, byte for byte,
// on the real templates of tests/data/chat_templates (Llama 2/3/3.1/3.2, ChatML/Qwen2/2.5, Mistral v0.1/v0.2/v0.3/Nemo,
// Gemma 1/3, Phi-3/3.5, TinyLlama, StableLM-Zephyr, BitNet b1.58 2B4T) over several conversations, with and
// without the generation prompt, plus tool calling. The goldens come from tests/reference/make_chat_golden.py.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <map>
#include <string>

#include "chat/chat_template.h"
#include "common/error.h"
#include "io/json.h"
#include "test_util.h"

namespace {

std::string read_text(const std::filesystem::path& p) {
    const auto bytes = ttt_test::read_bytes(p);
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("chat templates render exactly as transformers' apply_chat_template") {
    const auto dir = ttt_test::test_data_dir();
    const std::string golden_text = read_text(dir / "chat_golden" / "chat_templates.json");
    REQUIRE(!golden_text.empty());
    auto golden = ttt::parse_json(golden_text, "chat_templates.json");
    simdjson::dom::object root = golden->root.get_object().value();
    simdjson::dom::object conversations = root["conversations"].get_object().value();

    std::map<std::string, std::unique_ptr<ttt::chat::ChatTemplate>> templates;
    std::map<std::string, ttt::chat::ChatConfig> configs;
    size_t compared = 0, refused = 0;
    std::map<std::string, size_t> per_template;
    simdjson::dom::array cases = root["cases"].get_array().value();  // named: the range must outlive the loop
    for (simdjson::dom::element c : cases) {
        const std::string name(c["template"].get_string().value());
        if (!templates.count(name)) {
            const std::string cfg_text = read_text(dir / "chat_templates" / (name + ".json"));
            configs[name] = ttt::chat::read_chat_config(cfg_text, name);
            templates[name] = std::make_unique<ttt::chat::ChatTemplate>(configs[name].chat_template);
        }
        const std::string conv(c["conversation"].get_string().value());
        const std::string messages = ttt::json_minify(conversations[conv].value());
        const std::string extra = ttt::json_minify(c["extra"].value());
        ttt::chat::ChatRequest r;
        r.messages_json = messages;
        r.add_generation_prompt = c["add_generation_prompt"].get_bool().value();
        r.bos_token = configs[name].bos_token;
        r.eos_token = configs[name].eos_token;
        r.extra_json = extra;
        CAPTURE(name);
        CAPTURE(conv);
        CAPTURE(r.add_generation_prompt);
        std::string_view expected;
        if (!c["output"].get(expected)) {
            std::string got;
            CHECK_NOTHROW(got = templates[name]->apply(r));
            CHECK(got == std::string(expected));
            ++compared;
            ++per_template[name];
        } else {
            const std::string error(c["error"].get_string().value());
            try {
                templates[name]->apply(r);
                FAIL("the template should refuse the conversation: " << error);
            } catch (const ttt::Error& e) {
                CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
                CHECK(std::string(e.what()).find(error) != std::string::npos);
            }
            ++refused;
        }
    }
    MESSAGE("compared " << compared << " prompts and " << refused << " refusals over " << templates.size() << " templates");
    CHECK(templates.size() >= 20);
    CHECK(compared >= 200);
    for (const auto& kv : per_template) CHECK_MESSAGE(kv.second > 0, kv.first);
}

TEST_CASE("chat template semantics match Jinja's as transformers configures it (one feature per snippet)") {
    const auto dir = ttt_test::test_data_dir();
    const std::string golden_text = read_text(dir / "chat_golden" / "chat_templates.json");
    auto golden = ttt::parse_json(golden_text, "chat_templates.json");
    simdjson::dom::object root = golden->root.get_object().value();
    const std::string messages = ttt::json_minify(root["snippet_messages"].value());
    size_t rendered = 0, failed = 0;
    simdjson::dom::array snippets = root["snippets"].get_array().value();
    for (simdjson::dom::element c : snippets) {
        const std::string text(c["template"].get_string().value());
        CAPTURE(text);
        ttt::chat::ChatRequest r;
        r.messages_json = messages;
        r.bos_token = "<s>";
        r.eos_token = "</s>";
        std::string_view expected;
        if (!c["output"].get(expected)) {
            std::string got;
            CHECK_NOTHROW(got = ttt::chat::ChatTemplate(text).apply(r));
            CHECK(got == std::string(expected));
            ++rendered;
        } else {
            // Jinja failed (a type error, an undefined used, a division by zero, raise_exception ...): so must we,
            // with our own message; raise_exception's message is passed through.
            const std::string error(c["error"].get_string().value());
            CHECK_THROWS_AS(ttt::chat::ChatTemplate(text).apply(r), ttt::Error);
            if (error == "custom refusal") CHECK_THROWS_WITH(ttt::chat::ChatTemplate(text).apply(r), doctest::Contains(error.c_str()));
            ++failed;
        }
    }
    CHECK(rendered >= 30);
    CHECK(failed >= 5);
}
