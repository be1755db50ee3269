// The bit-ttt program end to end: generate streams text and reports speed; chat logs memories, saves and loads
// souls and sleeps; tokenize prints ids; bad usage fails with a message.
#include <doctest/doctest.h>

#include <fstream>

#include "cli_util.h"
#include "model_fixture.h"

using namespace ttt_test;

TEST_CASE("bit-ttt generate streams text and reports prefill and generation speed; same seed, same text") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    int rc = 0;
    const std::string a = run_cli("generate -m " + model + " -p 'ROMEO:' -n 12 --seed 5", &rc);
    CHECK(rc == 0);
    CHECK(a.rfind("ROMEO:", 0) == 0);
    CHECK(a.find("prefill:") != std::string::npos);
    CHECK(a.find("tokens/s") != std::string::npos);
    const std::string b = run_cli("generate -m " + model + " -p 'ROMEO:' -n 12 --seed 5", &rc);
    CHECK(a.substr(0, a.find("prefill:")) == b.substr(0, b.find("prefill:")));
    // The thread count changes the speed, never the text.
    for (const char* threads : {"1", "2", "3"}) {
        const std::string t = run_cli("generate -m " + model + " -p 'ROMEO:' -n 12 --seed 5 --threads " + threads, &rc);
        CHECK(rc == 0);
        CHECK(a.substr(0, a.find("prefill:")) == t.substr(0, t.find("prefill:")));
    }
    CHECK(run_cli("generate -m " + model + " -p x --threads -1", &rc).find("[0, 1024]") != std::string::npos);
    CHECK(rc == 2);
    CHECK(run_cli("generate -m " + model + " -p x --temp abc", &rc).find("--temp must be a number") != std::string::npos);
    CHECK(rc == 2);
    CHECK(run_cli("generate -m /nonexistent -p x", &rc).find("/nonexistent") != std::string::npos);
    CHECK(rc == 1);
}

TEST_CASE("bit-ttt chat: memories, soul save and load, sleep, commands") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    const auto soul = tmp.path / "npc.soul", mem = tmp.path / "mem", input = tmp.path / "input.txt";
    {
        std::ofstream f(input);
        f << "/len 4\nWho goes there?\n/save " << soul.string() << "\n/sleep\n/reset\n/load " << soul.string()
          << "\n/bogus\n/quit\n";
    }
    int rc = 0;
    const std::string out = run_cli("chat -m " + model + " --memories " + mem.string() + " --seed 1", &rc, input.string());
    CAPTURE(out);
    CHECK(rc == 0);
    CHECK(out.find("max tokens 4") != std::string::npos);
    CHECK(out.find("(Soul Level:") != std::string::npos);
    CHECK(std::filesystem::exists(soul));
    CHECK(out.find("sleep finished") != std::string::npos);
    CHECK(out.find("soul reset") != std::string::npos);
    CHECK(out.find("soul loaded") != std::string::npos);
    CHECK(out.find("unknown command /bogus") != std::string::npos);
    // The turn was logged as upstream-format memories: one user and one assistant line.
    size_t files = 0, lines = 0;
    for (auto& e : std::filesystem::directory_iterator(mem)) {
        ++files;
        std::ifstream f(e.path());
        std::string line;
        while (std::getline(f, line)) {
            ++lines;
            CHECK(line.find("\"role\"") != std::string::npos);
            CHECK(line.find("\"timestamp\"") != std::string::npos);
        }
    }
    CHECK(files == 1);
    CHECK(lines == 2);
}

TEST_CASE("bit-ttt tokenize and usage errors") {
    int rc = 0;
    const std::string tok = (test_data_dir() / "tokenizer" / "ttt_bytelevel.json").string();
    const std::string out = run_cli("tokenize --tokenizer " + tok + " 'To be, or not to be'", &rc);
    CHECK(rc == 0);
    CHECK(out.find("To") != std::string::npos);
    CHECK(run_cli("nonsense", &rc).find("unknown command") != std::string::npos);
    CHECK(rc == 2);
    CHECK(run_cli("--version", &rc).find("ABI") != std::string::npos);
}

TEST_CASE("bit-ttt memory: usage errors name the option and its range") {
    int rc = 0;
    CHECK(run_cli("memory --help", &rc).find("second_read") != std::string::npos);
    CHECK(rc == 0);
    CHECK(run_cli("memory -m x", &rc).find("required") != std::string::npos);
    CHECK(rc == 2);
    CHECK(run_cli("memory -m x --data y --window 1", &rc).find("[2, 1048576]") != std::string::npos);
    CHECK(rc == 2);
    CHECK(run_cli("memory -m x --data y --repeats 1,0", &rc).find("[1, 100000]") != std::string::npos);
    CHECK(rc == 2);
    CHECK(run_cli("memory -m /nonexistent --data y", &rc).find("/nonexistent") != std::string::npos);
    CHECK(rc == 1);
}

TEST_CASE("bit-ttt info names the TTT layer kind and the soul's shape") {
    int rc = 0;
    const std::string golden = std::string(TTT_TEST_DATA_DIR) + "/golden/";
    const std::string delta = run_cli("info " + golden + "d16_v23_l2_delta_h2", &rc);
    CHECK(rc == 0);
    CHECK(delta.find("ttt layer: delta") != std::string::npos);
    CHECK(delta.find("2 heads") != std::string::npos);
    CHECK(delta.find("soul size: 2 layers x 2 heads x 2 x 2 floats") != std::string::npos);
    const std::string upstream = run_cli("info " + golden + "d12_v37_l3", &rc);
    CHECK(rc == 0);
    CHECK(upstream.find("ttt layer: upstream") != std::string::npos);
    CHECK(upstream.find("soul size: 3 layers x 3 x 3 floats") != std::string::npos);
}
