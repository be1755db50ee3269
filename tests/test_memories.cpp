// Memories: append/read round trips (escaping, non-ASCII, time zones), recovery from torn lines, malformed lines
// skipped with the file untouched, folder edge cases, and the sleep replay's day selection and splitting.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "memory/memories.h"
#include "test_util.h"

using namespace ttt_test;
using ttt::MemoryDay;
using ttt::MemoryTurn;
using ttt::ReplayOptions;

namespace {

const std::time_t kNow = 1714560000;  // 2024-05-01 10:40:00 UTC

std::string local_date(std::time_t t) {
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string text_of(const std::filesystem::path& p) {
    const std::vector<uint8_t> b = read_bytes(p);
    return std::string(b.begin(), b.end());
}

size_t scalar_count(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

// Sets TZ for the scope of the object (POSIX TZ strings need no tz database).
struct TimeZone {
    std::string old;
    bool had;
    explicit TimeZone(const char* tz) {
        const char* o = std::getenv("TZ");
        had = o != nullptr;
        if (had) old = o;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~TimeZone() {
        if (had) setenv("TZ", old.c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }
};

// Collects log warnings for the scope of the object.
struct LogCapture {
    static std::vector<std::string>& lines() {
        static std::vector<std::string> l;
        return l;
    }
    LogCapture() {
        lines().clear();
        ttt::set_log_callback([](int32_t, const char* m, void*) { lines().push_back(m); }, TTT_LOG_WARN, nullptr);
    }
    ~LogCapture() { ttt::set_log_callback(nullptr, TTT_LOG_WARN, nullptr); }
};

MemoryDay day(const std::string& date, std::vector<MemoryTurn> turns) {
    MemoryDay d;
    d.date = date;
    d.turns = std::move(turns);
    return d;
}

std::string joined(const std::vector<std::string>& pieces) {
    std::string s;
    for (const std::string& p : pieces) s += p;
    return s;
}

}  // namespace

TEST_CASE("memories: append and read round trip, with non-ASCII, quotes, newlines and control characters") {
    TempDir tmp;
    const std::string dir = (tmp.path / "a" / "memories").string();  // created with its parents
    const std::vector<std::pair<std::string, std::string>> turns = {
        {"user", "こんにちは 👋 — café"},
        {"assistant", "He said \"hi\"\nand left \\ with a\ttab\r\n"},
        {"user", std::string("nul\0and\x01" "ctl", 11)},
        {"assistant", ""},
    };
    for (const auto& [role, text] : turns) ttt::append_memory(dir, role, text, kNow);

    const std::string file = (std::filesystem::path(dir) / (local_date(kNow) + ".jsonl")).string();
    const std::string raw = text_of(file);
    CHECK(std::count(raw.begin(), raw.end(), '\n') == 4);  // one line per turn: newlines inside text are escaped
    CHECK(raw.rfind("{\"role\":\"user\",\"text\":\"", 0) == 0);  // upstream's key order

    const std::vector<MemoryDay> days = ttt::read_memories(dir);
    REQUIRE(days.size() == 1);
    CHECK(days[0].date == local_date(kNow));
    CHECK(days[0].skipped_lines == 0);
    REQUIRE(days[0].turns.size() == turns.size());
    for (size_t i = 0; i < turns.size(); ++i) {
        CHECK(days[0].turns[i].role == turns[i].first);
        CHECK(days[0].turns[i].text == turns[i].second);
        const std::string& ts = days[0].turns[i].timestamp;
        REQUIRE(ts.size() == 25);  // YYYY-MM-DDTHH:MM:SS+HH:MM
        CHECK(ts.substr(0, 10) == local_date(kNow));
        CHECK(ts[10] == 'T');
        CHECK((ts[19] == '+' || ts[19] == '-'));
    }
}

TEST_CASE("memories: timestamps are local time with the UTC offset, and the file is named by the local date") {
    TempDir tmp;
    const std::string dir = tmp.path.string();
    struct Zone {
        const char* tz;
        const char* date;
        const char* stamp;
    };
    // 2024-05-01 10:40:00 UTC; the last one is already 2 May locally; "<+0530>-5:30" is India's offset.
    for (const Zone& z : {Zone{"UTC0", "2024-05-01", "2024-05-01T10:40:00+00:00"},
                          Zone{"EST5", "2024-05-01", "2024-05-01T05:40:00-05:00"},
                          Zone{"<+0530>-5:30", "2024-05-01", "2024-05-01T16:10:00+05:30"},
                          Zone{"<+14>-14", "2024-05-02", "2024-05-02T00:40:00+14:00"}}) {
        TimeZone scope(z.tz);
        ttt::append_memory(dir, "user", z.tz, kNow);
        const std::string want = std::string("{\"role\":\"user\",\"text\":\"") + z.tz + "\",\"timestamp\":\"" +
                                 z.stamp + "\"}\n";
        const std::string all = text_of(tmp.path / (std::string(z.date) + ".jsonl"));
        CHECK_MESSAGE(all.find(want) != std::string::npos, all);
    }
    // New Year: 2023-12-31 23:30 UTC is already 2024 in Tokyo (offset across the year boundary).
    TimeZone tokyo("JST-9");
    ttt::append_memory(dir, "assistant", "new year", 1704065400);
    CHECK(text_of(tmp.path / "2024-01-01.jsonl").find("\"2024-01-01T08:30:00+09:00\"") != std::string::npos);
}

TEST_CASE("memories: a torn last line from a crash does not glue onto the next line") {
    TempDir tmp;
    const std::string dir = tmp.path.string();
    const std::filesystem::path file = tmp.path / (local_date(kNow) + ".jsonl");
    write_bytes(file, bytes("{\"role\":\"user\",\"text\":\"first\",\"timestamp\":\"2024-05-01T10:00:00+00:00\"}\n"
                            "{\"role\":\"assistant\",\"te"));
    ttt::append_memory(dir, "user", "after the crash", kNow);
    LogCapture log;
    const std::vector<MemoryDay> days = ttt::read_memories(dir);
    REQUIRE(days.size() == 1);
    REQUIRE(days[0].turns.size() == 2);
    CHECK(days[0].turns[0].text == "first");
    CHECK(days[0].turns[1].text == "after the crash");
    CHECK(days[0].skipped_lines == 1);
    REQUIRE(log.lines().size() == 1);
    CHECK(log.lines()[0].find("line 2") != std::string::npos);
}

TEST_CASE("memories: malformed lines are skipped and counted, the file is left unchanged") {
    TempDir tmp;
    const std::string good1 = R"({"role":"user","text":"one","timestamp":"2024-05-01T10:00:00+09:00"})";
    const std::string good2 = R"({"timestamp":"2024-05-01T10:01:00+09:00","role":"assistant","text":"two","extra":1})";
    const std::string content = good1 + "\n" +
                                "garbage that is not JSON\n" +                                       // line 2
                                R"({"role":"user","text":)" + "\n" +                                 // 3 truncated
                                R"({"text":"no role","timestamp":"x"})" + "\n" +                     // 4
                                R"({"role":"user","text":5,"timestamp":"x"})" + "\n" +               // 5
                                "{\"role\":\"user\",\"text\":\"\xFF\xFE\",\"timestamp\":\"x\"}\n" +  // 6 bad UTF-8
                                "\n" +                                                              // 7 blank
                                R"({"role":"system","text":"s","timestamp":"x"})" + "\n" +           // 8
                                "[1,2,3]\n" +                                                       // 9
                                R"({"role":"user","text":"t"})" + "\n" +                             // 10 no timestamp
                                good2 + "\r\n" +                                                    // 11 CRLF: fine
                                R"({"role":"assistant","text":"cut)";                                // 12 torn
    const std::filesystem::path file = tmp.path / "2024-05-01.jsonl";
    write_bytes(file, bytes(content));

    LogCapture log;
    const std::vector<MemoryDay> days = ttt::read_memories(tmp.path.string());
    REQUIRE(days.size() == 1);
    REQUIRE(days[0].turns.size() == 2);
    CHECK(days[0].turns[0].text == "one");
    CHECK(days[0].turns[1].text == "two");
    CHECK(days[0].turns[1].role == "assistant");
    CHECK(days[0].skipped_lines == 9);
    REQUIRE(log.lines().size() == 9);
    const std::vector<int> bad_lines = {2, 3, 4, 5, 6, 8, 9, 10, 12};
    for (size_t i = 0; i < bad_lines.size(); ++i) {
        CHECK_MESSAGE(log.lines()[i].find("line " + std::to_string(bad_lines[i])) != std::string::npos, log.lines()[i]);
        CHECK(log.lines()[i].find(file.string()) != std::string::npos);
    }
    CHECK(read_bytes(file) == bytes(content));
}

TEST_CASE("memories: only YYYY-MM-DD.jsonl files are read, oldest first") {
    TempDir tmp;
    const std::string line = R"({"role":"user","text":"x","timestamp":"t"})" "\n";
    for (const char* name : {"2024-05-03.jsonl", "2023-12-31.jsonl", "2024-05-01.jsonl", "notes.txt",
                             "2024-13-01.jsonl", "2024-05-01.jsonl.bak", "2024-05-01.json", "24-05-01.jsonl",
                             "2024-05-0x.jsonl"})
        write_bytes(tmp.path / name, bytes(line));
    std::filesystem::create_directory(tmp.path / "2024-06-01.jsonl");  // a folder with a day's name
    const std::vector<MemoryDay> days = ttt::read_memories(tmp.path.string());
    REQUIRE(days.size() == 3);
    CHECK(days[0].date == "2023-12-31");
    CHECK(days[1].date == "2024-05-01");
    CHECK(days[2].date == "2024-05-03");
}

TEST_CASE("memories: a missing folder is empty, a file where the folder should be is an I/O error") {
    TempDir tmp;
    CHECK(ttt::read_memories((tmp.path / "nothing here").string()).empty());
    CHECK(ttt::read_memories(tmp.path.string()).empty());
    write_bytes(tmp.path / "file", bytes("x"));
    for (auto call : {+[](const std::string& p) { ttt::read_memories(p); },
                      +[](const std::string& p) { ttt::append_memory(p, "user", "hi", kNow); }}) {
        try {
            call((tmp.path / "file").string());
            FAIL("a file was taken for the memories folder");
        } catch (const ttt::Error& e) {
            CHECK(e.status() == TTT_ERR_IO);
        }
    }
    CHECK(read_bytes(tmp.path / "file") == bytes("x"));
}

TEST_CASE("memories: bad role or invalid UTF-8 text is refused before anything is written") {
    TempDir tmp;
    const std::string dir = (tmp.path / "m").string();
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"system", "hi"}, {"User", "hi"}, {"user", "\xC3"}, {"assistant", "a\xED\xA0\x80"}};
    for (const auto& [role, text] : bad) {
        try {
            ttt::append_memory(dir, role, text, kNow);
            FAIL("accepted role " << role);
        } catch (const ttt::Error& e) {
            CHECK(e.status() == TTT_ERR_INVALID_ARGUMENT);
        }
    }
    CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("memories replay: text format and day selection") {
    const std::vector<MemoryDay> days = {
        day("2024-01-01", {{"user", "a", ""}, {"assistant", "b", ""}}),
        day("2024-01-02", {}),  // no turns: not a day to replay
        day("2024-01-03", {{"user", "c", ""}}),
        day("2024-01-04", {{"user", "日本", ""}, {"other", "d", ""}}),
    };
    ReplayOptions all;
    all.max_days = 0;
    std::vector<std::string> pieces = ttt::build_replay(days, all);
    REQUIRE(pieces.size() == 1);
    CHECK(pieces[0] == "\nUser: a\nAssistant: b\n\nUser: c\n\nUser: 日本\nAssistant: d\n");

    ReplayOptions recent;
    recent.max_days = 2;
    CHECK(joined(ttt::build_replay(days, recent)) == "\nUser: c\n\nUser: 日本\nAssistant: d\n");
    recent.max_days = 10;
    CHECK(joined(ttt::build_replay(days, recent)) == pieces[0]);

    // Random days: deterministic per seed, always in chronological order, and over many seeds every day appears.
    ReplayOptions random;
    random.random_days = true;
    random.max_days = 2;
    std::set<std::string> seen;
    for (uint64_t seed = 0; seed < 40; ++seed) {
        random.seed = seed;
        const std::string a = joined(ttt::build_replay(days, random));
        CHECK(a == joined(ttt::build_replay(days, random)));
        seen.insert(a);
        CHECK(std::count(a.begin(), a.end(), 'U') == 2);  // two days chosen
        const size_t pa = a.find("User: a"), pc = a.find("User: c"), pj = a.find("User: 日本");
        if (pa != std::string::npos && pc != std::string::npos) CHECK(pa < pc);
        if (pc != std::string::npos && pj != std::string::npos) CHECK(pc < pj);
    }
    CHECK(seen.size() == 3);  // all three pairs of the three non-empty days

    CHECK(ttt::build_replay({}, ReplayOptions{}).empty());
    CHECK(ttt::build_replay({day("2024-01-01", {})}, ReplayOptions{}).empty());
}

TEST_CASE("memories replay: pieces hold at most max_piece_chars scalar values and never split a character") {
    std::string long_text;
    for (int i = 0; i < 1000; ++i) long_text += "€";  // 3 bytes each
    const std::vector<MemoryDay> days = {day("2024-01-01", {{"user", long_text, ""}})};
    const std::string whole = "\nUser: " + long_text + "\n";  // 1008 scalar values
    ReplayOptions opt;
    std::vector<std::string> pieces = ttt::build_replay(days, opt);
    REQUIRE(pieces.size() == 3);
    CHECK(scalar_count(pieces[0]) == 500);
    CHECK(scalar_count(pieces[1]) == 500);
    CHECK(scalar_count(pieces[2]) == 8);
    CHECK(pieces[1].size() == 1500);  // bytes are not the unit
    for (const std::string& p : pieces) CHECK(simdjson::validate_utf8(p.data(), p.size()));
    CHECK(joined(pieces) == whole);

    const std::vector<MemoryDay> mixed = {day("2024-01-01", {{"user", "a👋b世", ""}})};
    opt.max_piece_chars = 1;
    pieces = ttt::build_replay(mixed, opt);
    CHECK(pieces.size() == scalar_count("\nUser: a👋b世\n"));
    for (const std::string& p : pieces) CHECK(scalar_count(p) == 1);
    CHECK(joined(pieces) == "\nUser: a👋b世\n");

    // max_total_chars keeps the last scalar values.
    opt.max_piece_chars = 500;
    opt.max_total_chars = 4;
    CHECK(joined(ttt::build_replay(mixed, opt)) == "👋b世\n");
    opt.max_total_chars = 1000;
    CHECK(joined(ttt::build_replay(mixed, opt)) == "\nUser: a👋b世\n");

    ReplayOptions bad;
    bad.max_piece_chars = 0;
    CHECK_THROWS_AS(ttt::build_replay(mixed, bad), ttt::Error);
    bad = ReplayOptions{};
    bad.max_days = -1;
    CHECK_THROWS_AS(ttt::build_replay(mixed, bad), ttt::Error);
}

TEST_CASE("memories replay: from files written by append_memory") {
    TempDir tmp;
    const std::string dir = tmp.path.string();
    const std::time_t day_s = 86400;
    for (int d = 0; d < 7; ++d) {
        ttt::append_memory(dir, "user", "question " + std::to_string(d), kNow + d * day_s);
        ttt::append_memory(dir, "assistant", "answer " + std::to_string(d), kNow + d * day_s);
    }
    const std::vector<MemoryDay> days = ttt::read_memories(dir);
    REQUIRE(days.size() == 7);
    const std::string text = joined(ttt::build_replay(days, ReplayOptions{}));  // the 5 most recent days
    CHECK(text.rfind("\nUser: question 2\nAssistant: answer 2\n", 0) == 0);
    CHECK(text.find("question 1") == std::string::npos);
    const std::string last = "\nUser: question 6\nAssistant: answer 6\n";
    REQUIRE(text.size() > last.size());
    CHECK(text.compare(text.size() - last.size(), last.size(), last) == 0);
}
