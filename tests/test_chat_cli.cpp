// bit-ttt and chat templates: chat writes turns in the model's template (or the plain format on request), info
// shows the template, convert keeps it in a .bitt header and in a model directory.
#include <doctest/doctest.h>

#include <fstream>

#include "cli_util.h"
#include "model_fixture.h"

using namespace ttt_test;

TEST_CASE("bit-ttt chat, info and convert with a model's chat template") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    const auto input = tmp.path / "input.txt";
    {
        std::ofstream f(input);
        f << "/len 3\nHello there\nAnd again\n/reset\nOnce more\n/quit\n";
    }
    int rc = 0;
    SUBCASE("a model without a template: the plain format, and --system is refused") {
        std::string out = run_cli("info " + model, &rc);
        CHECK(rc == 0);
        CHECK(out.find("chat template: none") != std::string::npos);
        out = run_cli("chat -m " + model + " --memories " + (tmp.path / "mem").string() + " --seed 1", &rc, input.string());
        CHECK(rc == 0);
        CHECK(out.find("chat template:") == std::string::npos);
        out = run_cli("chat -m " + model + " --system 'Be kind.' --memories " + (tmp.path / "mem").string(), &rc, input.string());
        CHECK(rc == 2);
        CHECK(out.find("--system needs a model with a chat template") != std::string::npos);
    }
    SUBCASE("a model with Qwen2.5's template") {
        std::filesystem::copy_file(test_data_dir() / "chat_templates" / "qwen2.5-3b-instruct.json",
                                   std::filesystem::path(model) / "tokenizer_config.json");
        std::string out = run_cli("info " + model, &rc);
        CHECK(rc == 0);
        CHECK(out.find("chat template: 2") != std::string::npos);  // 2xxx bytes
        out = run_cli("chat -m " + model + " --system 'Be kind.' --memories " + (tmp.path / "mem").string() + " --seed 1", &rc,
                      input.string());
        CAPTURE(out);
        CHECK(rc == 0);
        CHECK(out.find("chat template: the model's own (tokenizer_config.json), with your system message") != std::string::npos);
        CHECK(out.find("(Soul Level:") != std::string::npos);
        CHECK(out.find("soul reset") != std::string::npos);
        out = run_cli("chat -m " + model + " --no-template --memories " + (tmp.path / "mem").string(), &rc, input.string());
        CHECK(rc == 0);
        CHECK(out.find("chat template:") == std::string::npos);
        // convert keeps the template: in the .bitt header, and as tokenizer_config.json of a directory.
        const std::string bitt = (tmp.path / "m.bitt").string();
        CHECK(run_cli("convert " + model + " " + bitt, &rc).find("wrote") != std::string::npos);
        CHECK(rc == 0);
        out = run_cli("info " + bitt, &rc);
        CHECK(out.find("chat template: 2") != std::string::npos);
        const auto dir = tmp.path / "back";
        run_cli("convert " + bitt + " " + dir.string(), &rc);
        CHECK(rc == 0);
        CHECK(std::filesystem::exists(dir / "tokenizer_config.json"));
        out = run_cli("info " + dir.string(), &rc);
        CHECK(out.find("chat template: 2") != std::string::npos);
    }
}
