// Conversation memories and the sleep replay built from them (upstream-spec §5.3–5.4).
//
// Format (upstream's): <dir>/YYYY-MM-DD.jsonl, the local date; one JSON object per line, keys in this order:
//   {"role":"user"|"assistant","text":<string>,"timestamp":<RFC 3339 local time with offset>}
// Files are only ever appended to, never rewritten, so a crash can cost at most the line being written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace ttt {

// Append one turn to <dir>/<local date of now>.jsonl, creating dir (and its parents) as needed. role must be
// "user" or "assistant" and text valid UTF-8 (else Error(TTT_ERR_INVALID_ARGUMENT): a line we wrote but could not
// read back would be a silent loss). The line goes out in one O_APPEND write followed by fsync. If the file does
// not end with '\n' (a line torn by an earlier crash), the new line starts on a fresh line instead of gluing onto
// the torn one. I/O failures throw Error(TTT_ERR_IO).
void append_memory(const std::string& dir, const std::string& role, std::string_view text,
                   std::time_t now = std::time(nullptr));

struct MemoryTurn {
    std::string role, text, timestamp;
};
struct MemoryDay {
    std::string date;  // YYYY-MM-DD, from the file name
    std::vector<MemoryTurn> turns;
    size_t skipped_lines = 0;  // lines holding something that is not a valid turn (blank lines are not counted)
};

// Read the day files (names YYYY-MM-DD.jsonl; other files and folders are ignored), oldest first. A line is a turn
// when it is a JSON object with string fields role ("user" or "assistant"), text and timestamp (other fields are
// ignored; a trailing '\r' is tolerated). Other lines (bad JSON, missing fields, wrong types, invalid UTF-8, a torn
// last line) are skipped with a log warning naming the file and line number. Nothing is modified.
// A missing directory gives an empty result; a path that is not a directory, or a day file that cannot be read,
// throws Error(TTT_ERR_IO).
std::vector<MemoryDay> read_memories(const std::string& dir);

struct ReplayOptions {
    int32_t max_days = 5;        // how many days to replay (days without turns do not count); 0: all; < 0 refused
    bool random_days = false;    // false: the most recent max_days; true: a seeded random sample of max_days
    uint64_t seed = 0;           // for random_days
    size_t max_piece_chars = 500;  // at most this many Unicode scalar values per piece (upstream: 500); 0 refused
    size_t max_total_chars = 0;    // 0: no limit; else only the last max_total_chars scalar values are kept
};

// The sleep replay: the chosen days, always in the order given (chronological for read_memories' result); each turn
// becomes "\nUser: " + text or "\nAssistant: " + text, each day ends with "\n"; the text is then cut into pieces of
// at most max_piece_chars scalar values, never inside a UTF-8 character. No memories → no pieces.
// Texts are expected to be valid UTF-8 (read_memories guarantees it); other bytes cannot cause a crash.
std::vector<std::string> build_replay(const std::vector<MemoryDay>& days, const ReplayOptions& opt);

}  // namespace ttt
