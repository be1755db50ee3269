#include "memory/memories.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/rng.h"
#include "io/file.h"
#include "io/json.h"

namespace ttt {

namespace {

// Local date (file name) and RFC 3339 timestamp with the UTC offset, e.g. "2024-05-01T21:07:33+09:00". The offset
// comes from comparing local and UTC broken-down times, which works where struct tm has no tm_gmtoff.
void local_date_and_timestamp(std::time_t now, std::string* date, std::string* timestamp) {
    std::tm local{}, utc{};
    if (!local_time(now, &local) || !utc_time(now, &utc))
        fail_argument("memories: the time " + std::to_string(static_cast<long long>(now)) + " cannot be represented");
    int day_diff = local.tm_yday - utc.tm_yday;
    if (local.tm_year != utc.tm_year) day_diff = local.tm_year > utc.tm_year ? 1 : -1;  // across New Year
    const int offset = day_diff * 1440 + (local.tm_hour - utc.tm_hour) * 60 + (local.tm_min - utc.tm_min);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &local);
    *date = buf;
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
    const int a = offset < 0 ? -offset : offset;
    char zone[16];
    std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 60, a % 60);
    *timestamp = std::string(buf) + zone;
}

// "YYYY-MM-DD.jsonl" with a plausible month and day; anything else in the folder is not ours to read.
bool is_day_file_name(const std::string& name) {
    if (name.size() != 16 || name.compare(10, 6, ".jsonl") != 0) return false;
    for (size_t i = 0; i < 10; ++i) {
        const bool dash = i == 4 || i == 7;
        if (dash ? name[i] != '-' : (name[i] < '0' || name[i] > '9')) return false;
    }
    const int month = (name[5] - '0') * 10 + (name[6] - '0');
    const int day = (name[8] - '0') * 10 + (name[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

bool is_blank(std::string_view line) {
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Parses one line into a turn; on failure returns false with the reason in *why.
bool parse_turn(std::string_view line, const std::string& what, MemoryTurn* turn, std::string* why) {
    try {
        auto doc = parse_json(line, what);  // also rejects invalid UTF-8
        simdjson::dom::object obj;
        if (doc->root.get_object().get(obj)) {
            *why = what + ": not a JSON object";
            return false;
        }
        if (!json_get_string_opt(obj, "role", what, &turn->role) ||
            !json_get_string_opt(obj, "text", what, &turn->text) ||
            !json_get_string_opt(obj, "timestamp", what, &turn->timestamp)) {
            *why = what + ": needs the string fields \"role\", \"text\" and \"timestamp\"";
            return false;
        }
        if (turn->role != "user" && turn->role != "assistant") {
            *why = what + ": role must be \"user\" or \"assistant\", found " + json_quote(turn->role);
            return false;
        }
        return true;
    } catch (const Error& e) {
        *why = e.what();
        return false;
    }
}

MemoryDay read_day(const std::string& path, const std::string& date) {
    MemoryDay day;
    day.date = date;
    const std::vector<uint8_t> bytes = read_file(path);
    const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    size_t pos = 0, line_no = 0;
    while (pos < all.size()) {
        size_t end = all.find('\n', pos);
        if (end == std::string_view::npos) end = all.size();
        std::string_view line = all.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a file edited on Windows
        if (is_blank(line)) continue;  // carries no memory, so nothing is lost by passing over it
        MemoryTurn turn;
        std::string why;
        if (parse_turn(line, "memories file '" + path + "' line " + std::to_string(line_no), &turn, &why)) {
            day.turns.push_back(std::move(turn));
        } else {
            ++day.skipped_lines;
            log_warn(why + " (line skipped)");
        }
    }
    return day;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

void append_memory(const std::string& dir, const std::string& role, std::string_view text, std::time_t now) {
    if (dir.empty()) fail_argument("memories: empty folder path");
    if (role != "user" && role != "assistant")
        fail_argument("memories: role must be \"user\" or \"assistant\", got " + json_quote(role));
    if (!simdjson::validate_utf8(text.data(), text.size())) fail_argument("memories: text is not valid UTF-8");
    std::string date, timestamp;
    local_date_and_timestamp(now, &date, &timestamp);

    std::error_code ec;
    std::filesystem::create_directories(to_fs_path(dir), ec);
    if (ec) fail_io("cannot create memories folder '" + dir + "': " + ec.message());
    const std::string path = dir + "/" + date + ".jsonl";

    std::string line = "{\"role\":" + json_quote(role) + ",\"text\":" + json_quote(text) +
                       ",\"timestamp\":" + json_quote(timestamp) + "}\n";
    // One append-mode write + flush to disk; a line torn by an earlier crash gets its '\n' first (src/io/file.h).
    append_line_durable(path, std::move(line));
}

std::vector<MemoryDay> read_memories(const std::string& dir) {
    std::error_code ec;
    const std::filesystem::file_status st = std::filesystem::status(to_fs_path(dir), ec);
    if (st.type() == std::filesystem::file_type::not_found) return {};  // no memories yet
    if (ec) fail_io("cannot open memories folder '" + dir + "': " + ec.message());
    if (st.type() != std::filesystem::file_type::directory) fail_io("memories path '" + dir + "' is not a folder");

    std::vector<std::string> names;
    std::filesystem::directory_iterator it(to_fs_path(dir), ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = from_fs_path(it->path().filename());
        std::error_code type_ec;
        if (is_day_file_name(name) && it->is_regular_file(type_ec)) names.push_back(name);
    }
    if (ec) fail_io("cannot list memories folder '" + dir + "': " + ec.message());
    std::sort(names.begin(), names.end());  // YYYY-MM-DD sorts chronologically

    std::vector<MemoryDay> days;
    days.reserve(names.size());
    for (const std::string& name : names) days.push_back(read_day(dir + "/" + name, name.substr(0, 10)));
    return days;
}

std::vector<std::string> build_replay(const std::vector<MemoryDay>& days, const ReplayOptions& opt) {
    if (opt.max_days < 0)
        fail_argument("replay: max_days must be >= 0 (0 = all days), got " + std::to_string(opt.max_days));
    if (opt.max_piece_chars == 0) fail_argument("replay: max_piece_chars must be > 0");

    // Days without turns would add only "\n"; they do not use up one of the max_days.
    std::vector<size_t> chosen;
    for (size_t i = 0; i < days.size(); ++i)
        if (!days[i].turns.empty()) chosen.push_back(i);
    const size_t n = opt.max_days == 0 ? chosen.size() : std::min(size_t(opt.max_days), chosen.size());
    if (opt.random_days) {
        // Partial Fisher–Yates with our portable RNG: the same seed picks the same days everywhere.
        Rng rng(opt.seed);
        for (size_t i = 0; i < n; ++i) std::swap(chosen[i], chosen[i + size_t(rng.below(chosen.size() - i))]);
        chosen.resize(n);
        std::sort(chosen.begin(), chosen.end());  // replay in the given (chronological) order
    } else {
        chosen.erase(chosen.begin(), chosen.end() - std::ptrdiff_t(n));  // the most recent n
    }

    std::string text;
    for (size_t i : chosen) {
        for (const MemoryTurn& t : days[i].turns) {
            text += t.role == "user" ? "\nUser: " : "\nAssistant: ";  // upstream: any other role is the assistant
            text += t.text;
        }
        text += "\n";
    }

    // A scalar value starts at every byte that is not a continuation byte (10xxxxxx).
    if (opt.max_total_chars > 0) {
        size_t chars = 0;
        for (char c : text) chars += !is_continuation(c);
        if (chars > opt.max_total_chars) {
            // Keep the end: with the default selection that is the most recent conversation. Cut where the
            // (chars - max_total_chars)-th scalar value (0-based) starts.
            const size_t drop = chars - opt.max_total_chars;
            size_t cut = 0, seen = 0;
            for (; cut < text.size(); ++cut) {
                if (is_continuation(text[cut])) continue;
                if (seen == drop) break;
                ++seen;
            }
            text.erase(0, cut);
        }
    }

    std::vector<std::string> pieces;
    size_t start = 0, chars = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (is_continuation(text[i])) continue;
        if (chars == opt.max_piece_chars) {
            pieces.push_back(text.substr(start, i - start));
            start = i;
            chars = 0;
        }
        ++chars;
    }
    if (start < text.size()) pieces.push_back(text.substr(start));
    return pieces;
}

}  // namespace ttt
