// Lines from standard input that can be interrupted: waits in poll() with a short timeout and gives up when asked
// (Ctrl-C at the chat prompt), where std::getline would keep waiting. Also used while sleeping, to see /wake.
#pragma once

#include <functional>
#include <string>

class LineReader {
public:
    enum class Result { Line, End, Stopped };
    // Waits for a whole line (without its '\n'). `stop` is polled every `poll_ms` milliseconds while waiting.
    // A last line without '\n' at end of input counts as a line.
    Result read(std::string* line, const std::function<bool()>& stop, int poll_ms = 100);
    // A line that is already complete in the buffer or on stdin, without waiting; false if none.
    bool try_read(std::string* line);

private:
    bool take_line(std::string* line);
    int fill(int timeout_ms);  // 1 read something, 0 nothing yet, -1 end of input
    std::string buffer_;
    bool eof_ = false;
};
