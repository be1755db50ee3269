// Running the bit-ttt program from tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace ttt_test {

// Runs `bit-ttt ARGS` (stdout and stderr together), optionally feeding `input` on stdin; returns the output.
inline std::string run_cli(const std::string& args, int* exit_code, const std::string& input_file = "") {
    std::string cmd = std::string(TTT_CLI_PATH) + " " + args + (input_file.empty() ? " </dev/null" : " <" + input_file) + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf{};
    while (p && fgets(buf.data(), int(buf.size()), p)) out += buf.data();
    int status = p ? pclose(p) : -1;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

}  // namespace ttt_test
