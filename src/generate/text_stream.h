// Turns the byte pieces of generated tokens into text that is safe to show while it streams.
//
// A token's piece may end inside a UTF-8 character (byte-fallback tokens split a 4-byte emoji into 4 pieces), and
// the text may run into a stop string that arrives over several tokens. push() therefore returns only:
//   - complete, valid UTF-8 characters: an incomplete character is held until its last byte arrives; bytes that
//     cannot start or continue any character are replaced by U+FFFD at once (one per maximal invalid subpart, as the
//     Unicode standard recommends), so bad bytes are never held forever;
//   - text that cannot be the beginning of a stop string: the longest tail that is a prefix of some stop string is
//     held until later text decides it;
//   - nothing of a stop string, and nothing after one.
// Where several stop strings could match, the one that is complete first in the text wins (the earliest end), and
// of those ending at the same place, the longest. That is what a reader watching the text would see, and it makes
// the result independent of how the text is split into pieces.
// Matching is on decoded text; stop strings must be valid UTF-8, so a match always starts on a character boundary.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ttt {

class TextStream {
public:
    // Empty or invalid-UTF-8 stop strings are refused with Error(TTT_ERR_INVALID_ARGUMENT).
    explicit TextStream(std::vector<std::string> stop_strings);

    // Feed one token's bytes; returns the text that is now safe to emit. Sets stopped() once a stop string is
    // complete. After that, or after finish(), more input is ignored and "" is returned.
    std::string push(std::string_view piece);
    // End of generation: flushes the held text (an incomplete UTF-8 tail becomes U+FFFD), unless stopped.
    std::string finish();
    // Forget everything fed so far (the stop strings stay), for the next generation.
    void reset();

    bool stopped() const { return stopped_; }
    const std::string& matched_stop() const { return matched_; }

private:
    void decode(bool at_end);
    std::string release();

    std::vector<std::string> stops_;
    std::string raw_;   // bytes of an incomplete character (a valid prefix), not yet decoded
    std::string held_;  // decoded, valid text not yet emitted (it may still turn into a stop string)
    std::string matched_;
    bool stopped_ = false;
    bool finished_ = false;
};

}  // namespace ttt
