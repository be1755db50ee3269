// bit-ttt generate and chat under Ctrl-C / SIGTERM, and their option ranges: the first signal stops the reply,
// what the soul learned is saved when saving was asked for, memories keep whole turns; numbers outside an
// option's range are refused with a message naming the option and the range. Every wait is for a condition (text
// in the output), never for a fixed time, so a slow machine only makes the test slower.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cli_util.h"
#include "model_fixture.h"

using namespace ttt_test;

namespace {

// bit-ttt running in the background: stdin is a pipe we write to, stdout and stderr go to one file.
struct Running {
    pid_t pid = -1;
    int stdin_fd = -1;
    std::filesystem::path log;
    Running(const std::vector<std::string>& args, const std::filesystem::path& log_path) : log(log_path) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::dup2(fds[0], 0);
            const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(out, 1);
            ::dup2(out, 2);
            ::close(fds[1]);
            std::vector<char*> argv;
            std::string cli = TTT_CLI_PATH;
            argv.push_back(cli.data());
            std::vector<std::string> copy = args;
            for (auto& a : copy) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(cli.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(fds[0]);
        stdin_fd = fds[1];
    }
    ~Running() {
        if (stdin_fd >= 0) ::close(stdin_fd);
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    void type(const std::string& text) { REQUIRE(::write(stdin_fd, text.data(), text.size()) == ssize_t(text.size())); }
    void close_input() {
        ::close(stdin_fd);
        stdin_fd = -1;
    }
    std::string output() const {
        auto b = read_bytes(log);
        return std::string(b.begin(), b.end());
    }
    // Waits until `pred(output)` holds; false after 120 s (a hung program), which fails the test.
    template <class Pred>
    bool wait_for(Pred pred) const {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < deadline) {
            if (pred(output())) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    bool wait_text(const std::string& s, size_t from = 0) const {
        return wait_for([&](const std::string& o) { return o.find(s, from) != std::string::npos; });
    }
    // The exit code (1000 + signal if killed by one); -1 if the program has not ended within 120 s (a hang, which
    // fails the test instead of hanging the suite).
    int exit_code() {
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                pid = -1;
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    }
};

uint64_t soul_level_of(const std::string& model, const std::filesystem::path& soul) {
    Model m(model);
    Context c(m.m);
    if (ttt_load_soul(c.c, soul.c_str(), 0) != TTT_OK) return 0;
    uint64_t level = 0;
    ttt_get_soul_level(c.c, &level);
    return level;
}

size_t memory_lines(const std::filesystem::path& dir, size_t* assistant = nullptr) {
    size_t lines = 0;
    if (assistant) *assistant = 0;
    if (!std::filesystem::exists(dir)) return 0;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
        std::ifstream f(e.path());
        std::string line;
        while (std::getline(f, line)) {
            ++lines;
            if (assistant && line.find("\"assistant\"") != std::string::npos) ++*assistant;
        }
    }
    return lines;
}

}  // namespace

TEST_CASE("generate: Ctrl-C or SIGTERM stops the text and still saves the soul with --save-soul") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    for (int sig : {SIGINT, SIGTERM}) {
        CAPTURE(sig);
        const auto soul = tmp.path / ("g" + std::to_string(sig) + ".soul");
        Running r({"generate", "-m", model, "-p", "ROMEO:", "-n", "2000000000", "--ignore-eos", "--soul", soul.string(),
                   "--save-soul"},
                  tmp.path / ("log" + std::to_string(sig) + ".txt"));
        // Generating: wait until some text has come out, then interrupt.
        REQUIRE(r.wait_for([](const std::string& o) { return o.size() > 200; }));
        ::kill(r.pid, sig);
        CHECK(r.exit_code() == (sig == SIGINT ? 130 : 143));
        const std::string out = r.output();
        CAPTURE(out.substr(out.size() > 400 ? out.size() - 400 : 0));
        CHECK(out.find("soul saved to") != std::string::npos);
        REQUIRE(std::filesystem::exists(soul));
        CHECK(soul_level_of(model, soul) > 10);
        for (auto& e : std::filesystem::directory_iterator(tmp.path))
            CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
    }
}

TEST_CASE("generate: an unwritable --soul path is refused before any work") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    int rc = 0;
    const std::string out = run_cli("generate -m " + model + " -p x -n 5 --soul " + (tmp.path / "no" / "x.soul").string() +
                                        " --save-soul", &rc);
    CHECK(rc == 1);
    CHECK(out.find("does not exist (checked before starting)") != std::string::npos);
    CHECK(out.find("prefill") == std::string::npos);  // nothing was generated
}

TEST_CASE("chat: Ctrl-C stops the reply and the chat goes on; the soul is saved at the end; memories keep the turn") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    const auto soul = tmp.path / "npc.soul", mem = tmp.path / "mem";
    Running r({"chat", "-m", model, "--soul", soul.string(), "--memories", mem.string(), "-n", "2000000000",
               "--ignore-eos"},
              tmp.path / "log.txt");
    REQUIRE(r.wait_text("saved there at the end"));  // says where the soul goes, before anything happens
    CHECK(r.output().find("new, to be created at " + soul.string()) != std::string::npos);
    r.type("Who goes there?\n");
    const size_t before = r.output().size();
    REQUIRE(r.wait_for([&](const std::string& o) { return o.size() > before + 200; }));
    ::kill(r.pid, SIGINT);
    REQUIRE(r.wait_text("(Soul Level:"));
    CHECK(r.output().find("[stopped]") != std::string::npos);
    size_t assistant = 0;
    CHECK(memory_lines(mem, &assistant) == 2);  // the question and the reply as far as it went
    CHECK(assistant == 1);
    r.type("/len 3\nAnd you?\n/quit\n");
    CHECK(r.exit_code() == 0);
    CHECK(r.output().find("soul saved to " + soul.string()) != std::string::npos);
    CHECK(soul_level_of(model, soul) > 10);
    CHECK(memory_lines(mem) == 4);
}

TEST_CASE("chat: Ctrl-C at the prompt and SIGTERM end the chat, saving the soul; end of input saves too") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    for (int how : {SIGINT, SIGTERM, 0}) {
        CAPTURE(how);
        const auto soul = tmp.path / ("s" + std::to_string(how) + ".soul");
        Running r({"chat", "-m", model, "--soul", soul.string(), "--memories", (tmp.path / "mem").string(), "-n", "4"},
                  tmp.path / ("log" + std::to_string(how) + ".txt"));
        r.type("Hello\n");
        REQUIRE(r.wait_text("(Soul Level:"));
        if (how) ::kill(r.pid, how);
        else r.close_input();
        CHECK(r.exit_code() == (how == SIGINT ? 130 : how == SIGTERM ? 143 : 0));
        CHECK(soul_level_of(model, soul) > 0);
    }
}

TEST_CASE("chat: /wake saves what the sleep learned, like a finished /sleep") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    const auto soul = tmp.path / "npc.soul", mem = tmp.path / "mem";
    // Enough memories that the sleep is still running when /wake arrives (the test waits for it to start).
    std::filesystem::create_directories(mem);
    {
        std::ofstream f(mem / "2026-01-01.jsonl");
        for (int i = 0; i < 4000; ++i)
            f << "{\"role\":\"user\",\"text\":\"To be, or not to be, that is the question: whether 'tis nobler in the "
                 "mind to suffer the slings and arrows of outrageous fortune\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\n";
    }
    Running r({"chat", "-m", model, "--soul", soul.string(), "--memories", mem.string()}, tmp.path / "log.txt");
    r.type("/sleep\n");
    REQUIRE(r.wait_text("sleeping on"));
    REQUIRE(r.wait_text("."));  // learning has started
    r.type("/wake\n");
    REQUIRE(r.wait_for([](const std::string& o) {
        return o.find("woke up early") != std::string::npos || o.find("sleep finished") != std::string::npos;
    }));
    REQUIRE(r.wait_text("soul saved to " + soul.string()));
    // The saved soul is the one the chat reported after waking (whatever the sleep had learned by then).
    const std::string out = r.output();
    const size_t at = out.find("soul level ");
    REQUIRE(at != std::string::npos);
    CHECK(soul_level_of(model, soul) == std::stoull(out.substr(at + 11)));
    r.type("/quit\n");
    CHECK(r.exit_code() == 0);
}

TEST_CASE("generate and chat refuse numbers outside each option's range, naming the option and the range") {
    TempDir tmp;
    const std::string model = write_text_model(tmp.path / "m");
    struct Case {
        std::string args, message;
    };
    const Case cases[] = {
        {"-n 3000000000", "-n must be an integer in [0, 2147483647], got '3000000000'"},
        {"-n -5", "-n must be an integer in [0, 2147483647]"},
        {"--top-k -3", "--top-k must be an integer in [0, 2147483647], got '-3'"},
        {"--top-p 5", "--top-p must be a number in"},
        {"--min-p -1", "--min-p must be a number in [0, 1], got '-1'"},
        {"--temp abc", "--temp must be a number in [0, 100], got 'abc'"},
        {"--temp nan", "--temp must be a number"},
        {"--seed -1", "--seed must be an integer in [0, 18446744073709551615], got '-1'"},
        {"--penalty-window 1e3", "--penalty-window must be an integer"},
        {"--repeat-penalty 0", "--repeat-penalty must be a number"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.args);
        int rc = 0;
        const std::string out = run_cli("generate -m " + model + " -p x " + c.args, &rc);
        CHECK(rc == 2);
        CHECK(out.find(c.message) != std::string::npos);
    }
    // Chat commands: a bad value is refused and the setting stays.
    const auto input = tmp.path / "in.txt";
    {
        std::ofstream f(input);
        f << "/temp abc\n/len -5\n/len 3000000000\n/temp 0.5\n/len 7\n/quit\n";
    }
    int rc = 0;
    const std::string out = run_cli("chat -m " + model + " --memories " + (tmp.path / "mem").string(), &rc, input.string());
    CAPTURE(out);
    CHECK(rc == 0);
    CHECK(out.find("/temp: must be a number in [0, 100], got 'abc'; unchanged") != std::string::npos);
    CHECK(out.find("/len: must be an integer in [0, 2147483647], got '-5'; unchanged") != std::string::npos);
    CHECK(out.find("got '3000000000'; unchanged") != std::string::npos);
    CHECK(out.find("temperature 0.5") != std::string::npos);
    CHECK(out.find("max tokens 7") != std::string::npos);
    CHECK(out.find("max tokens -5") == std::string::npos);
}
