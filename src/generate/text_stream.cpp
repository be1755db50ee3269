#include "generate/text_stream.h"

#include <algorithm>
#include <cstdint>

#include "common/error.h"

namespace ttt {

namespace {

const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Looks at the bytes at s (avail > 0 of them) and says what they start:
//   n > 0  a complete, valid character of n bytes;
//   0      a valid but incomplete prefix of a character (more bytes may complete it);
//   -n     n bytes that can never be part of a valid character (a maximal invalid subpart: one U+FFFD).
// The ranges are those of the Unicode standard (table 3-7): no overlong forms, no surrogates, nothing past U+10FFFF.
int scan_utf8(const uint8_t* s, size_t avail) {
    const uint8_t b = s[0];
    int len = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) len = 2;
    else if (b == 0xE0) len = 3, lo = 0xA0;
    else if (b == 0xED) len = 3, hi = 0x9F;
    else if (b >= 0xE1 && b <= 0xEF) len = 3;
    else if (b == 0xF0) len = 4, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3) len = 4;
    else if (b == 0xF4) len = 4, hi = 0x8F;
    else return -1;  // a continuation byte or a byte that never appears in UTF-8
    for (int i = 1; i < len; ++i) {
        if (size_t(i) >= avail) return 0;
        const uint8_t c = s[i];
        if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return -i;
    }
    return len;
}

bool valid_utf8(const std::string& s) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = 0; i < s.size();) {
        const int r = scan_utf8(p + i, s.size() - i);
        if (r <= 0) return false;
        i += size_t(r);
    }
    return true;
}

}  // namespace

TextStream::TextStream(std::vector<std::string> stop_strings) : stops_(std::move(stop_strings)) {
    for (size_t i = 0; i < stops_.size(); ++i) {
        if (stops_[i].empty()) fail_argument("stop string #" + std::to_string(i) + " is empty");
        if (!valid_utf8(stops_[i])) fail_argument("stop string #" + std::to_string(i) + " is not valid UTF-8");
    }
}

void TextStream::reset() {
    raw_.clear();
    held_.clear();
    matched_.clear();
    stopped_ = false;
    finished_ = false;
}

// Moves every complete character (or U+FFFD for invalid bytes) from raw_ to held_. An incomplete tail stays in raw_,
// unless at_end, where it becomes one U+FFFD.
void TextStream::decode(bool at_end) {
    const auto* p = reinterpret_cast<const uint8_t*>(raw_.data());
    size_t i = 0;
    while (i < raw_.size()) {
        const int r = scan_utf8(p + i, raw_.size() - i);
        if (r > 0) {
            held_.append(raw_, i, size_t(r));
            i += size_t(r);
        } else if (r < 0) {
            held_ += kReplacement;
            i += size_t(-r);
        } else if (at_end) {
            held_ += kReplacement;
            i = raw_.size();
        } else {
            break;
        }
    }
    raw_.erase(0, i);
}

// Returns what of held_ is safe to emit now, handling a completed stop string.
std::string TextStream::release() {
    // The stop string that is complete first; on equal ends the longest. Every occurrence starts inside held_,
    // because earlier calls held back any tail that could begin one.
    const std::string* best = nullptr;
    size_t best_start = 0, best_end = 0;
    for (const std::string& s : stops_) {
        const size_t pos = held_.find(s);
        if (pos == std::string::npos) continue;
        const size_t end = pos + s.size();
        if (!best || end < best_end || (end == best_end && s.size() > best->size())) {
            best = &s;
            best_start = pos;
            best_end = end;
        }
    }
    if (best) {
        std::string out = held_.substr(0, best_start);
        matched_ = *best;
        stopped_ = true;
        held_.clear();
        raw_.clear();
        return out;
    }
    // Hold back the longest tail of held_ that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const std::string& s : stops_) {
        for (size_t len = std::min(s.size() - 1, held_.size()); len > hold; --len) {
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    std::string out = held_.substr(0, held_.size() - hold);
    held_.erase(0, held_.size() - hold);
    return out;
}

std::string TextStream::push(std::string_view piece) {
    if (stopped_ || finished_) return {};
    raw_.append(piece.data(), piece.size());
    decode(false);
    return release();
}

std::string TextStream::finish() {
    if (stopped_ || finished_) return {};
    finished_ = true;
    decode(true);
    std::string out = release();  // the U+FFFD of a cut-off tail could itself complete a stop string
    if (!stopped_) {
        out += held_;
        held_.clear();
    }
    return out;
}

}  // namespace ttt
