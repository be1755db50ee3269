#include "cmd_generate.h"

#include <atomic>
#include <deque>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <sys/select.h>
#include <sys/stat.h>

#include "bit_ttt.h"

namespace {

// Options shared by generate and chat.
struct Options {
    std::string model, prompt, soul, memories = "memories";
    bool save_soul = false;
    std::vector<std::string> stops;
    ttt_generate_params gen;
    ttt_context_params ctx;
    Options() {
        ttt_generate_params_init(&gen, sizeof gen);
        ttt_context_params_init(&ctx, sizeof ctx);
    }
};

bool parse_number(const char* s, double* out) {
    char* end = nullptr;
    *out = std::strtod(s, &end);
    return end != s && *end == '\0';
}

bool is_help(const char* a) { return std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0; }

// Parses one option at argv[i]; returns false on an unknown option or a bad value (message printed).
bool parse_option(int argc, char** argv, int& i, Options& o) {
    const std::string a = argv[i];
    auto value = [&](double* v) {
        if (i + 1 >= argc || !parse_number(argv[i + 1], v)) {
            std::fprintf(stderr, "bit-ttt: %s needs a number\n", a.c_str());
            return false;
        }
        ++i;
        return true;
    };
    auto text = [&](std::string* s) {
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bit-ttt: %s needs a value\n", a.c_str());
            return false;
        }
        *s = argv[++i];
        return true;
    };
    double v = 0;
    if (a == "-m" || a == "--model") return text(&o.model);
    if (a == "-p" || a == "--prompt") return text(&o.prompt);
    if (a == "--soul") return text(&o.soul);
    if (a == "--save-soul") return o.save_soul = true;
    if (a == "--memories") return text(&o.memories);
    if (a == "--stop") {
        std::string s;
        if (!text(&s)) return false;
        o.stops.push_back(s);
        return true;
    }
    if (a == "-n" || a == "--max-tokens") return value(&v) && ((o.gen.max_tokens = int32_t(v)), true);
    if (a == "--temp") return value(&v) && ((o.gen.temperature = float(v)), true);
    if (a == "--top-k") return value(&v) && ((o.gen.top_k = int32_t(v)), true);
    if (a == "--top-p") return value(&v) && ((o.gen.top_p = float(v)), true);
    if (a == "--min-p") return value(&v) && ((o.gen.min_p = float(v)), true);
    if (a == "--repeat-penalty") return value(&v) && ((o.gen.repetition_penalty = float(v)), true);
    if (a == "--presence-penalty") return value(&v) && ((o.gen.presence_penalty = float(v)), true);
    if (a == "--frequency-penalty") return value(&v) && ((o.gen.frequency_penalty = float(v)), true);
    if (a == "--penalty-window") return value(&v) && ((o.gen.penalty_window = int32_t(v)), true);
    if (a == "--seed") return value(&v) && ((o.gen.seed = uint64_t(v)), true);
    if (a == "--threads") {
        if (!value(&v)) return false;
        if (v < 0 || v > 1024 || v != double(int32_t(v))) {
            std::fprintf(stderr, "bit-ttt: --threads must be a whole number in 0..1024 (0 = all cores)\n");
            return false;
        }
        o.ctx.n_threads = int32_t(v);
        return true;
    }
    std::fprintf(stderr, "bit-ttt: unknown option '%s'\n", a.c_str());
    return false;
}

const char* kSamplingHelp =
    "  -n, --max-tokens N      tokens to generate (256)\n"
    "  --temp T                temperature, 0 = greedy (0.8)\n"
    "  --top-k K --top-p P --min-p P\n"
    "  --repeat-penalty R --presence-penalty P --frequency-penalty F --penalty-window N\n"
    "  --seed S                same model + soul + prompt + seed => same text\n"
    "  --stop TEXT             stop before TEXT (repeatable)\n"
    "  --soul FILE             load the soul from FILE when it exists\n"
    "  --save-soul             save the soul back to --soul FILE at the end\n"
    "  --threads N             worker threads, 0 = all cores (0); the text does not depend on it\n";

struct Session {
    ttt_model* model = nullptr;
    ttt_context* ctx = nullptr;
    ~Session() {
        ttt_destroy(ctx);
        ttt_model_free(model);
    }
    bool open(const Options& o) {
        if (ttt_load_model(o.model.c_str(), nullptr, &model) != TTT_OK || ttt_create(model, &o.ctx, &ctx) != TTT_OK) {
            std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
            return false;
        }
        struct stat st {};
        if (!o.soul.empty() && ::stat(o.soul.c_str(), &st) == 0) {
            if (ttt_load_soul(ctx, o.soul.c_str(), 0) != TTT_OK) {
                std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
                return false;
            }
        }
        return true;
    }
    uint64_t level() const {
        uint64_t l = 0;
        ttt_get_soul_level(ctx, &l);
        return l;
    }
};

int32_t TTT_CALL print_piece(const char* text, size_t len, int32_t, void*) {
    std::fwrite(text, 1, len, stdout);
    std::fflush(stdout);
    return 1;
}

// Generate a reply to `prompt`, streaming it; returns the text, or sets ok = false.
std::string stream_reply(Session& s, Options& o, const std::string& prompt, bool* ok) {
    std::vector<const char*> stops;
    for (const auto& st : o.stops) stops.push_back(st.c_str());
    o.gen.stop_strings = stops.data();
    o.gen.n_stop_strings = stops.size();
    std::string reply;
    *ok = ttt_generate_begin(s.ctx, prompt.data(), prompt.size(), &o.gen) == TTT_OK;
    int32_t token = -1, reason = TTT_STOP_NONE;
    while (*ok && reason == TTT_STOP_NONE) {
        const char* text = nullptr;
        size_t len = 0;
        *ok = ttt_generate_next(s.ctx, &token, &text, &len, &reason) == TTT_OK;
        if (*ok) {
            print_piece(text, len, token, nullptr);
            reply.append(text, len);
        }
    }
    if (!*ok) std::fprintf(stderr, "\nbit-ttt: %s\n", ttt_last_error());
    return reply;
}

void print_speed(const Session& s) {
    ttt_perf p;
    p.struct_size = sizeof p;
    ttt_get_perf(s.ctx, &p);
    std::fprintf(stderr, "\nprefill: %" PRIu64 " tokens, %.1f tokens/s; generation: %" PRIu64 " tokens, %.1f tokens/s; soul level %" PRIu64 "\n",
                 p.prompt_tokens, p.prompt_seconds > 0 ? double(p.prompt_tokens) / p.prompt_seconds : 0.0, p.generated_tokens,
                 p.generation_seconds > 0 ? double(p.generated_tokens) / p.generation_seconds : 0.0, s.level());
}

bool save_soul(Session& s, const std::string& path) {
    if (ttt_save_soul(s.ctx, path.c_str()) != TTT_OK) {
        std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
        return false;
    }
    std::fprintf(stderr, "soul saved to %s\n", path.c_str());
    return true;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        if (is_help(argv[i])) {
            std::printf("usage: bit-ttt generate -m MODEL -p PROMPT [options]\n%s", kSamplingHelp);
            return 0;
        }
        if (!parse_option(argc, argv, i, o)) return 2;
    }
    if (o.model.empty()) {
        std::fprintf(stderr, "usage: bit-ttt generate -m MODEL -p PROMPT [options]\n%s", kSamplingHelp);
        return 2;
    }
    Session s;
    if (!s.open(o)) return 1;
    std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
    bool ok = true;
    stream_reply(s, o, o.prompt, &ok);
    std::printf("\n");
    print_speed(s);
    if (ok && o.save_soul && !o.soul.empty()) ok = save_soul(s, o.soul);
    return ok ? 0 : 1;
}

namespace {

int32_t TTT_CALL sleep_progress(float, void*) {
    std::fputc('.', stderr);
    return 1;
}

// Sleep on a worker thread while this thread watches stdin for /wake (which cancels, keeping what was learned).
// Other lines typed meanwhile are kept in `pending` for the chat loop.
void sleep_on_memories(Session& s, const Options& o, std::deque<std::string>& pending) {
    ttt_sleep_params p;
    ttt_sleep_params_init(&p, sizeof p);
    p.memories_dir = o.memories.c_str();
    p.progress_callback = sleep_progress;
    if (!o.soul.empty()) p.autosave_path = o.soul.c_str();
    std::atomic<bool> done{false};
    ttt_status status = TTT_OK;
    size_t learned = 0;
    std::string error;
    std::fprintf(stderr, "sleeping on %s (type /wake to wake up)", o.memories.c_str());
    std::thread worker([&] {
        status = ttt_sleep(s.ctx, &p, &learned);
        if (status != TTT_OK) error = ttt_last_error();
        done = true;
    });
    std::string line;
    while (!done.load()) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(0, &fds);
        timeval tv{0, 100000};
        if (select(1, &fds, nullptr, nullptr, &tv) > 0 && std::getline(std::cin, line)) {
            if (line == "/wake") ttt_cancel(s.ctx);
            else pending.push_back(line);
        }
    }
    worker.join();
    if (status == TTT_OK) std::fprintf(stderr, "\nsleep finished: learned %zu tokens; soul level %" PRIu64 "%s\n", learned, s.level(),
                                       o.soul.empty() ? "" : " (soul auto-saved)");
    else if (status == TTT_ERR_ABORTED) std::fprintf(stderr, "\nwoke up early; soul level %" PRIu64 "\n", s.level());
    else std::fprintf(stderr, "\nsleep failed: %s\n", error.c_str());
}

void remember(const Options& o, const char* role, const std::string& text) {
    if (ttt_remember(o.memories.c_str(), role, text.data(), text.size()) != TTT_OK)
        std::fprintf(stderr, "bit-ttt: could not log the memory: %s\n", ttt_last_error());
}

}  // namespace

int cmd_chat(int argc, char** argv) {
    Options o;
    o.stops.push_back("\nUser:");
    for (int i = 1; i < argc; ++i) {
        if (is_help(argv[i])) {
            std::printf("usage: bit-ttt chat -m MODEL [--soul FILE] [--memories DIR] [options]\n%s", kSamplingHelp);
            return 0;
        }
        if (!parse_option(argc, argv, i, o)) return 2;
    }
    if (o.model.empty()) {
        std::fprintf(stderr, "usage: bit-ttt chat -m MODEL [--soul FILE] [--memories DIR] [options]\n%s", kSamplingHelp);
        return 2;
    }
    Session s;
    if (!s.open(o)) return 1;
    std::fprintf(stderr, "bit-ttt chat: /reset /save [FILE] /load [FILE] /temp T /len N /sleep /wake /quit\n");
    std::string line;
    std::deque<std::string> pending;  // lines typed while sleeping
    for (;;) {
        std::fprintf(stderr, "> ");
        if (!pending.empty()) {
            line = pending.front();
            pending.pop_front();
        } else if (!std::getline(std::cin, line)) {
            break;
        }
        if (line.empty()) continue;
        if (line[0] == '/') {
            const size_t space = line.find(' ');
            const std::string cmd = line.substr(0, space), arg = space == std::string::npos ? "" : line.substr(space + 1);
            if (cmd == "/quit" || cmd == "/exit") break;
            if (cmd == "/reset") {
                ttt_reset(s.ctx);
                std::fprintf(stderr, "soul reset\n");
            } else if (cmd == "/save") {
                save_soul(s, arg.empty() ? (o.soul.empty() ? "chat.soul" : o.soul) : arg);
            } else if (cmd == "/load") {
                const std::string path = arg.empty() ? o.soul : arg;
                if (ttt_load_soul(s.ctx, path.c_str(), 0) != TTT_OK) std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
                else std::fprintf(stderr, "soul loaded; level %" PRIu64 "\n", s.level());
            } else if (cmd == "/temp") {
                double v = 0;
                if (parse_number(arg.c_str(), &v)) o.gen.temperature = float(v);
                std::fprintf(stderr, "temperature %g\n", double(o.gen.temperature));
            } else if (cmd == "/len") {
                double v = 0;
                if (parse_number(arg.c_str(), &v) && v >= 0) o.gen.max_tokens = int32_t(v);
                std::fprintf(stderr, "max tokens %d\n", o.gen.max_tokens);
            } else if (cmd == "/sleep") {
                sleep_on_memories(s, o, pending);
            } else if (cmd == "/wake") {
                std::fprintf(stderr, "not sleeping\n");
            } else {
                std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
            }
            continue;
        }
        remember(o, "user", line);
        bool ok = true;
        std::string reply = stream_reply(s, o, "User: " + line + "\nAssistant:", &ok);
        std::printf("\n");
        std::fflush(stdout);
        std::fprintf(stderr, "(Soul Level: %" PRIu64 ")\n", s.level());
        if (ok) remember(o, "assistant", reply);
    }
    if (o.save_soul && !o.soul.empty()) save_soul(s, o.soul);
    return 0;
}
