// Chat templates through the C ABI (ttt_chat_apply_template, ttt_model_chat_template) with a model directory that
// ships a tokenizer_config.json, and the interpreter's refusals: bad templates with their position, unsupported
// constructs, deep nesting, and the output and loop limits (an error, never a crash or a hang).
#include <doctest/doctest.h>

#include <cctype>
#include <filesystem>
#include <string>

#include "bit_ttt.h"
#include "chat/chat_template.h"
#include "common/error.h"
#include "io/json.h"
#include "model_fixture.h"
#include "test_util.h"

namespace {

std::string read_text(const std::filesystem::path& p) {
    const auto bytes = ttt_test::read_bytes(p);
    return std::string(bytes.begin(), bytes.end());
}

// Render through the C ABI with the size-query protocol; returns the status, the text in *out.
ttt_status apply(const ttt_model* model, const std::string& messages, const ttt_chat_params* p, std::string* out) {
    size_t n = 0;
    ttt_status st = ttt_chat_apply_template(model, messages.data(), messages.size(), p, nullptr, 0, &n);
    if (st != TTT_ERR_BUFFER_TOO_SMALL && st != TTT_OK) return st;
    std::string buf(n + 1, '\0');
    st = ttt_chat_apply_template(model, messages.data(), messages.size(), p, &buf[0], buf.size(), &n);
    out->assign(buf.data(), n);
    return st;
}

std::string render(const std::string& tmpl, const std::string& messages = "[]", ttt::chat::RenderLimits limits = {}) {
    ttt::chat::ChatRequest r;
    r.messages_json = messages;
    r.limits = limits;
    return ttt::chat::ChatTemplate(tmpl).apply(r);
}

// The status and message of what rendering `tmpl` throws ("" / TTT_OK when it renders).
std::pair<ttt_status, std::string> failure(const std::string& tmpl, const std::string& messages = "[]",
                                           ttt::chat::RenderLimits limits = {}) {
    try {
        render(tmpl, messages, limits);
    } catch (const ttt::Error& e) {
        return {e.status(), e.what()};
    }
    return {TTT_OK, ""};
}

const char* kConversation = R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi!"}])";

}  // namespace

TEST_CASE("ttt_chat_apply_template uses the chat template and special tokens of the model's tokenizer_config.json") {
    ttt_test::TempDir tmp;
    const std::string dir = ttt_test::write_fixture_model(tmp.path / "m", {});
    ttt_model* bare = nullptr;
    REQUIRE(ttt_load_model(dir.c_str(), nullptr, &bare) == TTT_OK);
    std::string out;
    SUBCASE("a model without a template says so, and an explicit template still works") {
        CHECK(apply(bare, kConversation, nullptr, &out) == TTT_ERR_UNSUPPORTED);
        CHECK(std::string(ttt_last_error()).find("no chat template") != std::string::npos);
        size_t n = 99;
        CHECK(ttt_model_chat_template(bare, nullptr, 0, &n) == TTT_OK);
        CHECK(n == 0);
        ttt_chat_params p;
        REQUIRE(ttt_chat_params_init(&p, sizeof p) == TTT_OK);
        CHECK(p.add_generation_prompt == 1);
        p.chat_template = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}";
        p.eos_token = "</s>";
        CHECK(apply(bare, kConversation, &p, &out) == TTT_OK);
        CHECK(out == "[system]Be brief.[user]Hi!</s>");
        CHECK(apply(nullptr, kConversation, &p, &out) == TTT_OK);  // no model needed with an explicit template
        CHECK(out == "[system]Be brief.[user]Hi!</s>");
    }
    ttt_model_free(bare);

    // The same model with TinyLlama's real tokenizer_config.json beside it.
    std::filesystem::copy_file(ttt_test::test_data_dir() / "chat_templates" / "tinyllama-1.1b-chat-v1.0.json",
                               std::filesystem::path(dir) / "tokenizer_config.json");
    ttt_model* model = nullptr;
    REQUIRE(ttt_load_model(dir.c_str(), nullptr, &model) == TTT_OK);
    SUBCASE("the model's own template") {
        CHECK(apply(model, kConversation, nullptr, &out) == TTT_OK);
        CHECK(out == "<|system|>\nBe brief.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n");
        ttt_chat_params p;
        ttt_chat_params_init(&p, sizeof p);
        p.add_generation_prompt = 0;
        CHECK(apply(model, kConversation, &p, &out) == TTT_OK);
        CHECK(out == "<|system|>\nBe brief.</s>\n<|user|>\nHi!</s>\n");
        p.eos_token = "<END>";  // a caller's special token wins over the model's
        CHECK(apply(model, kConversation, &p, &out) == TTT_OK);
        CHECK(out == "<|system|>\nBe brief.<END>\n<|user|>\nHi!<END>\n");
        size_t n = 0;
        CHECK(ttt_model_chat_template(model, nullptr, 0, &n) == TTT_ERR_BUFFER_TOO_SMALL);
        std::string t(n, '\0');
        CHECK(ttt_model_chat_template(model, &t[0], t.size(), &n) == TTT_OK);
        CHECK(t.find("<|assistant|>") != std::string::npos);
    }
    SUBCASE("size query, NULL checks, bad JSON, bad params") {
        size_t n = 0;
        const std::string msgs = kConversation;
        CHECK(ttt_chat_apply_template(model, msgs.data(), msgs.size(), nullptr, nullptr, 0, &n) == TTT_ERR_BUFFER_TOO_SMALL);
        CHECK(n == std::string("<|system|>\nBe brief.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n").size());
        std::string exact(n, '\0');  // exactly the size: no terminator, still OK
        CHECK(ttt_chat_apply_template(model, msgs.data(), msgs.size(), nullptr, &exact[0], n, &n) == TTT_OK);
        CHECK(ttt_chat_apply_template(model, nullptr, 3, nullptr, nullptr, 0, &n) == TTT_ERR_NULL_POINTER);
        CHECK(ttt_chat_apply_template(model, msgs.data(), msgs.size(), nullptr, nullptr, 0, nullptr) == TTT_ERR_NULL_POINTER);
        CHECK(apply(model, "[{\"role\": 1}]", nullptr, &out) == TTT_ERR_FORMAT);
        CHECK(apply(model, "{\"role\": \"user\"}", nullptr, &out) == TTT_ERR_FORMAT);
        CHECK(apply(model, "[{\"role\": \"user\", \"content\": \"x\"", nullptr, &out) == TTT_ERR_FORMAT);
        ttt_chat_params p;
        ttt_chat_params_init(&p, sizeof p);
        p.add_generation_prompt = 7;
        CHECK(apply(model, kConversation, &p, &out) == TTT_ERR_INVALID_ARGUMENT);
        ttt_chat_params_init(&p, sizeof p);
        p.extra_json = "[1]";
        CHECK(apply(model, kConversation, &p, &out) == TTT_ERR_FORMAT);
        p.extra_json = "{\"date_string\": \"1 Jan 2030\"}";
        CHECK(apply(model, kConversation, &p, &out) == TTT_OK);
        p.extra_json = nullptr;
        p.chat_template = "{% for %}";
        CHECK(apply(model, kConversation, &p, &out) == TTT_ERR_FORMAT);
        CHECK(std::string(ttt_last_error()).find("line 1, column") != std::string::npos);
    }
    ttt_model_free(model);
}

TEST_CASE("a model with TinyLlama's real tokenizer.json and tokenizer_config.json chats in its format") {
    const auto shared = ttt_test::shared_data_dir() / "tokenizers";
    if (!std::filesystem::exists(shared / "tinyllama-tokenizer_config.json")) {
        MESSAGE("skipped: ../shared/data/tokenizers/tinyllama-tokenizer*.json are absent");
        return;
    }
    ttt_test::TempDir tmp;
    ttt_test::FixtureSpec spec;
    spec.vocab = 32000;
    spec.dim = 8;
    spec.layers = 1;
    const std::string dir = ttt_test::write_fixture_model(tmp.path / "m", spec);
    std::filesystem::copy_file(shared / "tinyllama-tokenizer.json", std::filesystem::path(dir) / "tokenizer.json");
    std::string out;
    SUBCASE("the checkpoint's own files") {
        std::filesystem::copy_file(shared / "tinyllama-tokenizer_config.json", std::filesystem::path(dir) / "tokenizer_config.json");
        ttt_model* model = nullptr;
        REQUIRE(ttt_load_model(dir.c_str(), nullptr, &model) == TTT_OK);
        CHECK(apply(model, kConversation, nullptr, &out) == TTT_OK);
        CHECK(out == "<|system|>\nBe brief.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n");
        // The prompt's control tokens become single ids with TTT_TOKENIZE_PARSE_SPECIAL; </s> is the end of turn.
        size_t n = 0;
        std::vector<int32_t> ids(256);
        REQUIRE(ttt_tokenize(model, out.data(), out.size(), TTT_TOKENIZE_PARSE_SPECIAL, ids.data(), ids.size(), &n) == TTT_OK);
        ids.resize(n);
        int32_t eog_count = 0;
        for (int32_t id : ids) {
            int32_t eog = 0;
            REQUIRE(ttt_token_is_eog(model, id, &eog) == TTT_OK);
            eog_count += eog;
        }
        CHECK(eog_count == 2);
        ttt_model_free(model);
    }
    SUBCASE("a config without special tokens takes them from the tokenizer") {
        const std::string cfg = R"({"chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"})";
        ttt_test::write_bytes(std::filesystem::path(dir) / "tokenizer_config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
        ttt_model* model = nullptr;
        REQUIRE(ttt_load_model(dir.c_str(), nullptr, &model) == TTT_OK);
        CHECK(apply(model, R"([{"role":"user","content":"Hi"}])", nullptr, &out) == TTT_OK);
        CHECK(out == "<s>Hi</s>");
        ttt_model_free(model);
    }
    SUBCASE("a malformed tokenizer_config.json fails the load, naming the file") {
        const std::string cfg = R"({"chat_template": 12})";
        ttt_test::write_bytes(std::filesystem::path(dir) / "tokenizer_config.json", std::vector<uint8_t>(cfg.begin(), cfg.end()));
        ttt_model* model = nullptr;
        CHECK(ttt_load_model(dir.c_str(), nullptr, &model) == TTT_ERR_FORMAT);
        CHECK(std::string(ttt_last_error()).find("tokenizer_config.json") != std::string::npos);
        CHECK(model == nullptr);
    }
}

TEST_CASE("tokenizer_config.json forms: named template lists and special tokens as objects") {
    const auto c = ttt::chat::read_chat_config(
        R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
            "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})", "cfg");
    CHECK(c.chat_template == "D");
    CHECK(c.bos_token == "<s>");
    CHECK(c.eos_token == "</s>");
    CHECK(ttt::chat::read_chat_config(R"({"chat_template": [{"name": "x", "template": "X"}]})", "cfg").chat_template == "X");
    CHECK(ttt::chat::read_chat_config("{}", "cfg").chat_template.empty());
    CHECK_THROWS_AS(ttt::chat::read_chat_config(R"({"chat_template": 3})", "cfg"), ttt::Error);
    CHECK_THROWS_AS(ttt::chat::read_chat_config(R"({"eos_token": 3})", "cfg"), ttt::Error);
    CHECK_THROWS_AS(ttt::chat::read_chat_config("[", "cfg"), ttt::Error);
}

TEST_CASE("bad chat templates are refused with their position, never a crash or a hang") {
    struct Bad {
        const char* tmpl;
        const char* says;
    };
    const Bad bad[] = {
        {"{{ x", "not closed with }}"},
        {"{% if x %}a", "expected {% endif %}"},
        {"{% for x in y %}", "expected {% endfor %}"},
        {"{% endif %}", "without the block it closes"},
        {"{% include 'x' %}", "'include' is not supported"},
        {"{% raw %}x{% endraw %}", "'raw' is not supported"},
        {"{{ 'abc }}", "string is not closed"},
        {"{# comment", "comment is not closed"},
        {"{{ a b }}", "end of the tag is expected"},
        {"{{ 1 + }}", "an expression is expected"},
        {"{{ x | }}", "a filter name is expected"},
        {"{{ f(**k) }}", "*args and **kwargs are not supported"},
        {"{{ 99999999999999999999 }}", "too large"},
        {"{{ '\\u12' }}", "truncated \\u escape"},
        {"{{ x $ y }}", "unexpected character '$'"},
        {"{% for x in y recursive %}{% endfor %}", "recursive loops are not supported"},
    };
    for (const Bad& b : bad) {
        CAPTURE(b.tmpl);
        const auto [status, message] = failure(b.tmpl);
        CHECK(status == TTT_ERR_FORMAT);
        CHECK(message.find(b.says) != std::string::npos);
        CHECK(message.find("line 1, column") != std::string::npos);
    }
    // The position is the template's line and column.
    const auto [st, msg] = failure("line one\n  {{ 1 +* 2 }}");
    CHECK(st == TTT_ERR_FORMAT);
    CHECK(msg.find("line 2, column 9") != std::string::npos);
    // Runtime failures name their place too.
    const auto [st2, msg2] = failure("ok\n{{ messages.x.y }}");
    CHECK(st2 == TTT_ERR_FORMAT);
    CHECK(msg2.find("line 2") != std::string::npos);
    CHECK(msg2.find("undefined") != std::string::npos);
    CHECK(failure("{{ nofilter | frobnicate }}").second.find("no filter named 'frobnicate'") != std::string::npos);
    CHECK(failure("{{ 1 is frobnicated }}").second.find("no test named 'frobnicated'") != std::string::npos);
    CHECK(failure("{{ undefined_function() }}").second.find("'undefined_function' is undefined") != std::string::npos);
    CHECK(failure("{% set x = 1 %}{% set x.y = 2 %}").second.find("namespace") != std::string::npos);
}

TEST_CASE("deep nesting and resource limits end with an error") {
    // Nesting: parentheses, blocks and filters far deeper than any real template.
    CHECK(failure("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").second.find("nested too deeply") != std::string::npos);
    std::string blocks;
    for (int i = 0; i < 500; ++i) blocks += "{% if true %}";
    CHECK(failure(blocks).second.find("nested too deeply") != std::string::npos);
    std::string unary = "{{ " + std::string(5000, '-') + "1 }}";
    CHECK(failure(unary).second.find("nested too deeply") != std::string::npos);
    std::string nots = "{{ ";
    for (int i = 0; i < 5000; ++i) nots += "not ";
    CHECK(failure(nots + "1 }}").second.find("nested too deeply") != std::string::npos);

    // Chains the grammar builds in a loop: attributes, filters, operators.
    std::string chain = "{{ x";
    for (int i = 0; i < 3000; ++i) chain += ".a";
    CHECK(failure(chain + " }}").second.find("nested too deeply") != std::string::npos);
    std::string filters = "{{ x";
    for (int i = 0; i < 3000; ++i) filters += " | trim";
    CHECK(failure(filters + " }}").second.find("nested too deeply") != std::string::npos);
    std::string sum = "{{ 1";
    for (int i = 0; i < 3000; ++i) sum += " + 1";
    CHECK(failure(sum + " }}").second.find("nested too deeply") != std::string::npos);
    // Values: nesting built in a loop, a namespace inside itself, a list printed inside itself 2^40 times.
    CHECK(failure("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}")
              .second.find("levels deep") != std::string::npos);
    CHECK(failure("{% set ns = namespace() %}{% set ns.me = ns %}").second.find("cannot hold a namespace") != std::string::npos);
    CHECK(failure("{% set ns = namespace() %}{% set ns.l = [1, ns] %}").second.find("cannot hold a namespace") != std::string::npos);
    CHECK(failure("{% set a = namespace() %}{{ namespace(x=a) }}").second.find("cannot hold a namespace") != std::string::npos);
    auto dag = failure("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l }}");
    CHECK(dag.first == TTT_ERR_INVALID_ARGUMENT);
    CHECK(dag.second.find("line 1") != std::string::npos);
    CHECK(failure("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l | tojson }}")
              .first != TTT_OK);
    CHECK(failure("{% set ns = namespace(l=[1], m=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}"
                  "{% set ns.m = [ns.m, ns.m] %}{% endfor %}{{ ns.l == ns.m }}").first == TTT_ERR_INVALID_ARGUMENT);
    // The same list compared with itself is equal at once, as in Python.
    CHECK(render("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l == ns.l }}") == "True");

    ttt::chat::RenderLimits small;
    small.max_output_bytes = 1000;
    small.max_steps = 500;
    // Output growth: text, repetition, doubling a string in a namespace.
    auto r = failure("{% for i in range(100) %}0123456789ABCDEF{% endfor %}", "[]", small);
    CHECK(r.first == TTT_ERR_INVALID_ARGUMENT);
    CHECK(r.second.find("limit of 1000 bytes") != std::string::npos);
    CHECK(failure("{{ 'x' * 100000000000 }}", "[]", small).second.find("limit") != std::string::npos);
    CHECK(failure("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "[]", small)
              .second.find("limit") != std::string::npos);
    // Iterations: nested loops, a huge range.
    r = failure("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", "[]", small);
    CHECK(r.first == TTT_ERR_INVALID_ARGUMENT);
    CHECK(r.second.find("more than 500 loop iterations") != std::string::npos);
    CHECK(failure("{% for i in range(1000000000000) %}{% endfor %}", "[]", small).first == TTT_ERR_INVALID_ARGUMENT);
    // Recursion: a macro calling itself.
    r = failure("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    CHECK(r.first == TTT_ERR_INVALID_ARGUMENT);
    CHECK(r.second.find("levels deep") != std::string::npos);
    // The default limits hold a long real conversation easily.
    std::string many = "[";
    for (int i = 0; i < 2000; ++i) many += std::string(i ? "," : "") + R"({"role":"user","content":"message )" + std::to_string(i) + "\"}";
    many += "]";
    const std::string text = render("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}", many);
    CHECK(text.size() > 2000 * 30);
}

TEST_CASE("the malformed chat-template corpus: every entry fails with its status and reason") {
    const auto dir = ttt_test::test_data_dir() / "malformed";
    const std::string manifest_text = read_text(dir / "chat_manifest.json");
    REQUIRE(!manifest_text.empty());
    auto manifest = ttt::parse_json(manifest_text, "chat_manifest.json");
    const std::string messages = ttt::json_minify(manifest->root["messages"].value());
    size_t checked = 0;
    simdjson::dom::array entries = manifest->root["entries"].get_array().value();
    for (simdjson::dom::element e : entries) {
        const std::string name(e["name"].get_string().value());
        const std::string stage(e["stage"].get_string().value());
        const int64_t status = e["expect_status"].get_int64().value();
        const std::string keyword(e["expect_in_message"].get_string().value());
        CAPTURE(name);
        ttt_status got = TTT_OK;
        std::string message;
        bool config_read = false;
        try {
            const auto cfg = ttt::chat::read_chat_config(read_text(dir / std::string(e["path"].get_string().value())), name);
            config_read = true;
            ttt::chat::ChatRequest r;
            r.messages_json = messages;
            r.eos_token = cfg.eos_token;
            ttt::chat::ChatTemplate(cfg.chat_template).apply(r);
        } catch (const ttt::Error& err) {
            got = err.status();
            message = err.what();
        }
        CHECK(got == status);
        CHECK(config_read == (stage == "render"));
        std::string lower = message;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CHECK_MESSAGE(lower.find(keyword) != std::string::npos, message);
        ++checked;
    }
    CHECK(checked >= 20);
}
