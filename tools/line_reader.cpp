#include "line_reader.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

bool LineReader::take_line(std::string* line) {
    const size_t nl = buffer_.find('\n');
    if (nl == std::string::npos) {
        if (!eof_ || buffer_.empty()) return false;
        *line = std::move(buffer_);  // the last line had no newline
        buffer_.clear();
        return true;
    }
    line->assign(buffer_, 0, nl);
    if (!line->empty() && line->back() == '\r') line->pop_back();
    buffer_.erase(0, nl + 1);
    return true;
}

int LineReader::fill(int timeout_ms) {
    if (eof_) return -1;
    pollfd p{0, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r < 0) return errno == EINTR ? 0 : -1;
    if (r == 0) return 0;
    char chunk[4096];
    const ssize_t n = ::read(0, chunk, sizeof chunk);
    if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : (eof_ = true, -1);
    if (n == 0) {
        eof_ = true;
        return -1;
    }
    buffer_.append(chunk, size_t(n));
    return 1;
}

LineReader::Result LineReader::read(std::string* line, const std::function<bool()>& stop, int poll_ms) {
    for (;;) {
        if (take_line(line)) return Result::Line;
        if (eof_) return Result::End;
        if (stop && stop()) return Result::Stopped;
        fill(poll_ms);
    }
}

bool LineReader::try_read(std::string* line) {
    if (take_line(line)) return true;
    if (fill(0) > 0 || eof_) return take_line(line);
    return false;
}
