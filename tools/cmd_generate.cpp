#include "cmd_generate.h"

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "bit_ttt.h"
#include "cli_numbers.h"
#include "interrupts.h"
#include "line_reader.h"

namespace {

// Options shared by generate and chat.
struct Options {
    std::string model, prompt, soul, memories = "memories";
    bool save_soul = false, no_save_soul = false, ignore_eos = false;
    bool no_template = false;  // chat: the plain "User: ... Assistant:" format even when the model has a template
    std::string system;        // chat: a system message for the model's chat template
    std::vector<std::string> stops;
    ttt_generate_params gen;
    ttt_context_params ctx;
    Options() {
        ttt_generate_params_init(&gen, sizeof gen);
        ttt_context_params_init(&ctx, sizeof ctx);
    }
};

// The limits of the command line (the library accepts wider ranges where a value has a meaning, e.g. top_k < 0
// is "off" there; here every value must mean what the help says).
constexpr long long kMaxTokens = INT32_MAX;
constexpr size_t kMaxStopBytes = 4096;

bool is_help(const char* a) { return std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0; }

// Sets a sampling option from text; returns "" or the refusal naming the option and its range.
std::string set_sampling(const std::string& name, const std::string& text, ttt_generate_params& g) {
    long long i = 0;
    double f = 0;
    std::string e;
    if (name == "-n" || name == "--max-tokens") {
        if ((e = cli::parse_int(name, text, 0, kMaxTokens, &i)).empty()) g.max_tokens = int32_t(i);
    } else if (name == "--temp") {
        if ((e = cli::parse_float(name, text, 0, 100, &f)).empty()) g.temperature = float(f);
    } else if (name == "--top-k") {
        if ((e = cli::parse_int(name, text, 0, INT32_MAX, &i)).empty()) g.top_k = int32_t(i);
    } else if (name == "--top-p") {
        if ((e = cli::parse_float(name, text, 1e-6, 1, &f)).empty()) g.top_p = float(f);
    } else if (name == "--min-p") {
        if ((e = cli::parse_float(name, text, 0, 1, &f)).empty()) g.min_p = float(f);
    } else if (name == "--repeat-penalty") {
        if ((e = cli::parse_float(name, text, 1e-3, 100, &f)).empty()) g.repetition_penalty = float(f);
    } else if (name == "--presence-penalty") {
        if ((e = cli::parse_float(name, text, -100, 100, &f)).empty()) g.presence_penalty = float(f);
    } else if (name == "--frequency-penalty") {
        if ((e = cli::parse_float(name, text, -100, 100, &f)).empty()) g.frequency_penalty = float(f);
    } else if (name == "--penalty-window") {
        if ((e = cli::parse_int(name, text, 0, INT32_MAX, &i)).empty()) g.penalty_window = int32_t(i);
    } else if (name == "--seed") {
        e = cli::parse_u64(name, text, &g.seed);
    } else {
        return "unknown option '" + name + "'";
    }
    return e;
}

// Parses one option at argv[i]; returns false on an unknown option or a bad value (message printed).
bool parse_option(int argc, char** argv, int& i, Options& o) {
    const std::string a = argv[i];
    auto text = [&](std::string* s) {
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bit-ttt: %s needs a value\n", a.c_str());
            return false;
        }
        *s = argv[++i];
        return true;
    };
    if (a == "-m" || a == "--model") return text(&o.model);
    if (a == "-p" || a == "--prompt") return text(&o.prompt);
    if (a == "--soul") return text(&o.soul);
    if (a == "--save-soul") return o.save_soul = true;
    if (a == "--no-save-soul") return o.no_save_soul = true;
    if (a == "--ignore-eos") return o.ignore_eos = true;
    if (a == "--memories") return text(&o.memories);
    if (a == "--no-template") return o.no_template = true;
    if (a == "--system") return text(&o.system);
    if (a == "--threads") {
        std::string value;
        long long n = 0;
        if (!text(&value)) return false;
        const std::string e = cli::parse_int("--threads", value, 0, 1024, &n);
        if (!e.empty()) {
            std::fprintf(stderr, "bit-ttt: %s (0 = all cores)\n", e.c_str());
            return false;
        }
        o.ctx.n_threads = int32_t(n);
        return true;
    }
    if (a == "--ctx") {
        std::string value;
        long long n = 0;
        if (!text(&value)) return false;
        const std::string e = cli::parse_int("--ctx", value, 0, INT32_MAX, &n);
        if (!e.empty()) {
            std::fprintf(stderr, "bit-ttt: %s (0 = the model's max_position_embeddings)\n", e.c_str());
            return false;
        }
        o.ctx.n_ctx = int32_t(n);
        return true;
    }
    // Named choices of the context parameters (include/bit_ttt.h): the value must be one of the names.
    auto choice = [&](const char* const* names, const int32_t* values, size_t n, int32_t* out) {
        std::string value;
        if (!text(&value)) return false;
        std::string list;
        for (size_t k = 0; k < n; ++k) {
            if (value == names[k]) {
                *out = values[k];
                return true;
            }
            list += std::string(k ? ", " : "") + names[k];
        }
        std::fprintf(stderr, "bit-ttt: %s must be one of %s, got '%s'\n", a.c_str(), list.c_str(), value.c_str());
        return false;
    };
    if (a == "--kv-cache") {
        static const char* const names[] = {"f16", "int8", "f32"};
        static const int32_t values[] = {TTT_KV_F16, TTT_KV_INT8, TTT_KV_F32};
        return choice(names, values, 3, &o.ctx.kv_cache_type);
    }
    if (a == "--activations") {
        static const char* const names[] = {"model", "int8"};
        static const int32_t values[] = {TTT_ACTIVATIONS_MODEL, TTT_ACTIVATIONS_INT8};
        return choice(names, values, 2, &o.ctx.activations);
    }
    if (a == "--lm-head") {
        static const char* const names[] = {"f32", "bf16", "int8"};
        static const int32_t values[] = {TTT_LM_HEAD_F32, TTT_LM_HEAD_BF16, TTT_LM_HEAD_I8};
        return choice(names, values, 3, &o.ctx.lm_head);
    }
    if (a == "--stop") {
        std::string s;
        if (!text(&s)) return false;
        if (s.empty() || s.size() > kMaxStopBytes) {
            std::fprintf(stderr, "bit-ttt: --stop needs a text of 1 to %zu bytes\n", kMaxStopBytes);
            return false;
        }
        o.stops.push_back(s);
        return true;
    }
    static const char* const kSamplingOptions[] = {"-n", "--max-tokens", "--temp", "--top-k", "--top-p", "--min-p",
                                                   "--repeat-penalty", "--presence-penalty", "--frequency-penalty",
                                                   "--penalty-window", "--seed"};
    bool known = false;
    for (const char* name : kSamplingOptions) known = known || a == name;
    if (!known) {
        std::fprintf(stderr, "bit-ttt: unknown option '%s'\n", a.c_str());
        return false;
    }
    std::string value;
    if (!text(&value)) return false;
    const std::string e = set_sampling(a, value, o.gen);
    if (!e.empty()) std::fprintf(stderr, "bit-ttt: %s\n", e.c_str());
    return e.empty();
}

const char* kSamplingHelp =
    "  -n, --max-tokens N      tokens to generate, 0 ... 2147483647 (256)\n"
    "  --temp T                temperature, 0 ... 100, 0 = greedy (0.8)\n"
    "  --top-k K               0 ... 2147483647, 0 = off (40)\n"
    "  --top-p P               0 < P <= 1, 1 = off (0.95)\n"
    "  --min-p P               0 ... 1, 0 = off (0.05)\n"
    "  --repeat-penalty R      0.001 ... 100, 1 = off (1.1)\n"
    "  --presence-penalty P --frequency-penalty F   -100 ... 100 (0)\n"
    "  --penalty-window N      0 ... 2147483647 (64)\n"
    "  --seed S                0 ... 2^64-1; same model + soul + prompt + seed => same text\n"
    "  --stop TEXT             stop before TEXT (repeatable; 1 ... 4096 bytes)\n"
    "  --ignore-eos            never end at an end-of-text token (it is banned)\n"
    "  --soul FILE             load the soul from FILE when it exists\n"
    "  --threads N             worker threads, 0 ... 1024, 0 = all cores (0); the text does not depend on it\n"
    "  --ctx N                 attention models: KV cache length in tokens, 0 = the model's max_position_embeddings\n"
    "                          (0); a prompt or reply that would pass it stops with \"KV cache full\" (chat: /reset empties it)\n"
    "  --kv-cache TYPE         attention models: f16, int8 (1 byte per value, one factor per token and head) or f32 (f16)\n"
    "  --lm-head TYPE          how the LM head is held: f32, bf16 or int8 (smaller decodes faster; logits differ by\n"
    "                          the rounding of the head) (f32, or what the environment variable TTT_LM_HEAD says)\n"
    "  --activations TYPE      the rows the ternary products read: model (as the model was trained) or int8 (every\n"
    "                          model; a float model prefills about twice as fast, its logits move by the rounding)\n"
    "                          (model, or what the environment variable TTT_ACTIVATIONS says)\n";

const char* kGenerateSaveHelp =
    "  --save-soul             save the soul back to --soul FILE at the end (checked to be writable first)\n"
    "Ctrl-C or SIGTERM stops the text; with --save-soul the soul is still saved, then bit-ttt exits with 130\n"
    "(143 for SIGTERM). A third Ctrl-C exits at once without saving.\n";

const char* kChatHelp =
    "  --no-save-soul          with --soul FILE: never write FILE (by default chat saves the soul to FILE at the\n"
    "                          end, after /sleep and after /wake; it says so when it starts)\n"
    "  --memories DIR          where turns are logged and /sleep learns from (memories)\n"
    "  --system TEXT           a system message (with the model's chat template)\n"
    "  --no-template           the plain \"User: ... Assistant:\" format, even when the model has a chat template\n"
    "When the model has a chat template (tokenizer_config.json), each turn is written in it: the conversation is\n"
    "rendered with the template and what the model has not read yet is fed to it, special tokens included.\n"
    "Commands: /reset /save [FILE] /load [FILE] /temp T /len N /sleep /wake /quit\n"
    "Ctrl-C stops the reply (or the sleep); at the prompt it ends the chat like /quit, saving the soul. SIGTERM ends\n"
    "the chat, saving. A third Ctrl-C exits at once without saving. Every finished line is logged to the memories\n"
    "as it happens; a reply cut short is logged as far as it went.\n";

struct Session {
    ttt_model* model = nullptr;
    ttt_context* ctx = nullptr;
    std::vector<ttt_logit_bias> bias;  // --ignore-eos: the end-of-text tokens, banned
    ~Session() {
        ttt_destroy(ctx);
        ttt_model_free(model);
    }
    bool open(const Options& o) {
        if (ttt_load_model(o.model.c_str(), nullptr, &model) != TTT_OK || ttt_create(model, &o.ctx, &ctx) != TTT_OK) {
            std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
            return false;
        }
        if (o.ignore_eos) {
            ttt_model_info info;
            info.struct_size = sizeof info;
            ttt_model_get_info(model, &info);
            for (int32_t id = 0; id < info.vocab_size; ++id) {
                int32_t eog = 0;
                if (ttt_token_is_eog(model, id, &eog) == TTT_OK && eog) bias.push_back({id, -INFINITY});
            }
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

// Before any work: can the soul be saved to path later? (Its folder exists and is writable, and the path is not a
// folder.) Saves themselves are crash-safe; this only avoids learning for an hour and then failing.
bool check_soul_writable(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    struct stat st {};
    std::string why;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        why = "the folder '" + dir + "' does not exist";
    else if (::access(dir.c_str(), W_OK | X_OK) != 0)
        why = "the folder '" + dir + "' is not writable";
    else if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        why = "it is not a regular file";
    if (why.empty()) return true;
    std::fprintf(stderr, "bit-ttt: cannot save the soul to '%s': %s (checked before starting)\n", path.c_str(), why.c_str());
    return false;
}

// Generate a reply to `prompt`, streaming it. Returns the text produced (also when stopped or failed); *status is
// TTT_OK, TTT_ERR_ABORTED (interrupted) or the failure.
std::string stream_reply(Session& s, Options& o, const std::string& prompt, ttt_status* status) {
    std::vector<const char*> stops;
    for (const auto& st : o.stops) stops.push_back(st.c_str());
    o.gen.stop_strings = stops.data();
    o.gen.n_stop_strings = stops.size();
    o.gen.logit_bias = s.bias.data();
    o.gen.n_logit_bias = s.bias.size();
    std::string reply;
    *status = ttt_generate_begin(s.ctx, prompt.data(), prompt.size(), &o.gen);
    int32_t token = -1, reason = TTT_STOP_NONE;
    while (*status == TTT_OK && reason == TTT_STOP_NONE) {
        const char* text = nullptr;
        size_t len = 0;
        *status = ttt_generate_next(s.ctx, &token, &text, &len, &reason);
        if (*status == TTT_OK) {
            std::fwrite(text, 1, len, stdout);
            std::fflush(stdout);
            reply.append(text, len);
        }
    }
    if (*status == TTT_ERR_ABORTED) std::fprintf(stderr, "\n[stopped]");
    else if (*status != TTT_OK) std::fprintf(stderr, "\nbit-ttt: %s\n", ttt_last_error());
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
            std::printf("usage: bit-ttt generate -m MODEL -p PROMPT [options]\n%s%s", kSamplingHelp, kGenerateSaveHelp);
            return 0;
        }
        if (!parse_option(argc, argv, i, o)) return 2;
    }
    if (o.model.empty()) {
        std::fprintf(stderr, "usage: bit-ttt generate -m MODEL -p PROMPT [options]\n%s%s", kSamplingHelp, kGenerateSaveHelp);
        return 2;
    }
    if (o.save_soul && o.soul.empty()) {
        std::fprintf(stderr, "bit-ttt: --save-soul needs --soul FILE\n");
        return 2;
    }
    const bool saving = o.save_soul;
    if (saving && !check_soul_writable(o.soul)) return 1;
    Session s;
    Interrupts interrupts;  // after s (stops watching before s is destroyed), before the library starts threads
    if (!s.open(o)) return 1;
    interrupts.watch(s.ctx);
    std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
    ttt_status status = TTT_OK;
    stream_reply(s, o, o.prompt, &status);
    std::printf("\n");
    std::fflush(stdout);
    print_speed(s);
    // What the soul learned up to an interruption is kept: the prompt and the tokens generated so far.
    bool ok = status == TTT_OK || status == TTT_ERR_ABORTED;
    if (ok && saving) ok = save_soul(s, o.soul);
    interrupts.watch(nullptr);
    if (status == TTT_ERR_ABORTED || interrupts.count() > 0) return interrupts.exit_code();
    return ok ? 0 : 1;
}

namespace {

int32_t TTT_CALL sleep_progress(float, void*) {
    std::fputc('.', stderr);
    return 1;
}

// JSON string literal of UTF-8 text (the chat messages handed to ttt_chat_apply_template).
std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// The conversation in the model's chat template. Each turn renders the whole conversation and feeds the model only
// what it has not read: the text after the longest common prefix with what it read so far (the previous prompts and
// replies), which for the usual templates is the end of the last reply's turn plus the new user turn.
struct TemplateChat {
    bool active = false;
    std::vector<std::pair<std::string, std::string>> messages;  // role, content
    std::string consumed;  // everything the model has read in this conversation, as text

    std::string messages_json(const std::string& system) const {
        std::string j = "[";
        if (!system.empty()) j += "{\"role\":\"system\",\"content\":" + json_string(system) + "}";
        for (const auto& m : messages)
            j += std::string(j.size() > 1 ? "," : "") + "{\"role\":" + json_string(m.first) + ",\"content\":" + json_string(m.second) + "}";
        return j + "]";
    }

    // The text to feed for a new user line, or false (message printed) when the template refuses.
    bool prompt_for(const ttt_model* model, const std::string& system, const std::string& line, std::string* prompt) {
        messages.emplace_back("user", line);
        const std::string j = messages_json(system);
        size_t n = 0;
        std::string full;
        ttt_status st = ttt_chat_apply_template(model, j.data(), j.size(), nullptr, nullptr, 0, &n);
        if (st == TTT_ERR_BUFFER_TOO_SMALL) {
            full.resize(n + 1);
            st = ttt_chat_apply_template(model, j.data(), j.size(), nullptr, &full[0], full.size(), &n);
            full.resize(n);
        }
        if (st != TTT_OK) {
            std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
            messages.pop_back();
            return false;
        }
        size_t common = 0;
        while (common < consumed.size() && common < full.size() && consumed[common] == full[common]) ++common;
        *prompt = full.substr(common);
        consumed = full;
        return true;
    }

    void replied(const std::string& reply) {
        messages.emplace_back("assistant", reply);
        consumed += reply;
    }

    void reset() {
        messages.clear();
        consumed.clear();
    }
};

struct Chat {
    Session& s;
    Options& o;
    Interrupts& interrupts;
    LineReader& input;
    std::string soul_path;  // "" when chat saves nothing by itself
    std::deque<std::string> pending;  // lines typed while sleeping
    TemplateChat tmpl;
    // Signals already acted upon (each stopped one reply or woke one sleep). A signal beyond these, whenever it
    // came, ends the chat at the next prompt: counting, not sampling the count at some moment, so a Ctrl-C that
    // lands between the end of a reply and the prompt is never lost.
    int handled = 0;
    bool unhandled_signal() const { return interrupts.count() != handled; }

    void remember(const char* role, const std::string& text) {
        if (ttt_remember(o.memories.c_str(), role, text.data(), text.size()) != TTT_OK)
            std::fprintf(stderr, "bit-ttt: could not log the memory: %s\n", ttt_last_error());
    }

    void autosave() {
        if (!soul_path.empty()) save_soul(s, soul_path);
    }

    // Sleep on a worker thread while this thread watches stdin for /wake (which cancels, keeping what was learned).
    // Ctrl-C wakes up too. Other lines typed meanwhile are kept in `pending` for the chat loop. Either way the soul
    // is saved afterwards when chat saves it.
    void sleep_on_memories() {
        ttt_sleep_params p;
        ttt_sleep_params_init(&p, sizeof p);
        p.memories_dir = o.memories.c_str();
        p.progress_callback = sleep_progress;
        std::atomic<bool> done{false};
        ttt_status status = TTT_OK;
        size_t learned = 0;
        std::string error;
        std::fprintf(stderr, "sleeping on %s (type /wake or press Ctrl-C to wake up)", o.memories.c_str());
        const int signals_before = handled;
        std::thread worker([&] {
            status = ttt_sleep(s.ctx, &p, &learned);
            if (status != TTT_OK) error = ttt_last_error();
            done = true;
        });
        std::string line;
        while (!done.load()) {
            if (input.read(&line, [&] { return done.load() || interrupts.count() != signals_before; }) !=
                LineReader::Result::Line) {
                if (done.load()) break;
                if (interrupts.count() != signals_before) {
                    ttt_cancel(s.ctx);
                    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    break;
                }
                // end of input: let the sleep finish
                while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
                break;
            }
            if (line == "/wake") ttt_cancel(s.ctx);
            else pending.push_back(line);
        }
        worker.join();
        if (status == TTT_OK)
            std::fprintf(stderr, "\nsleep finished: learned %zu tokens; soul level %" PRIu64 "\n", learned, s.level());
        else if (status == TTT_ERR_ABORTED)
            std::fprintf(stderr, "\nwoke up early; soul level %" PRIu64 "\n", s.level());
        else
            std::fprintf(stderr, "\nsleep failed: %s\n", error.c_str());
        if (status == TTT_ERR_ABORTED && interrupts.count() != signals_before) ++handled;  // a Ctrl-C woke it
        // What was learned before waking is kept (ttt_sleep keeps it on cancel), so it is saved like a full sleep.
        if (status == TTT_OK || status == TTT_ERR_ABORTED) autosave();
    }

    // Returns false when the chat should end.
    bool command(const std::string& line) {
        const size_t space = line.find(' ');
        const std::string cmd = line.substr(0, space), arg = space == std::string::npos ? "" : line.substr(space + 1);
        if (cmd == "/quit" || cmd == "/exit") return false;
        if (cmd == "/reset") {
            ttt_reset(s.ctx);
            tmpl.reset();
            std::fprintf(stderr, "soul reset\n");
        } else if (cmd == "/save") {
            const std::string path = !arg.empty() ? arg : (!o.soul.empty() ? o.soul : "chat.soul");
            save_soul(s, path);
        } else if (cmd == "/load") {
            const std::string path = arg.empty() ? o.soul : arg;
            if (path.empty()) std::fprintf(stderr, "usage: /load FILE (no --soul FILE was given)\n");
            else if (ttt_load_soul(s.ctx, path.c_str(), 0) != TTT_OK) std::fprintf(stderr, "bit-ttt: %s\n", ttt_last_error());
            else std::fprintf(stderr, "soul loaded; level %" PRIu64 "\n", s.level());
        } else if (cmd == "/temp") {
            const std::string e = arg.empty() ? "" : set_sampling("--temp", arg, o.gen);
            if (!e.empty()) std::fprintf(stderr, "/temp: %s; unchanged\n", e.substr(std::strlen("--temp ")).c_str());
            std::fprintf(stderr, "temperature %g\n", double(o.gen.temperature));
        } else if (cmd == "/len") {
            const std::string e = arg.empty() ? "" : set_sampling("--max-tokens", arg, o.gen);
            if (!e.empty()) std::fprintf(stderr, "/len: %s; unchanged\n", e.substr(std::strlen("--max-tokens ")).c_str());
            std::fprintf(stderr, "max tokens %d\n", o.gen.max_tokens);
        } else if (cmd == "/sleep") {
            sleep_on_memories();
        } else if (cmd == "/wake") {
            std::fprintf(stderr, "not sleeping\n");
        } else {
            std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
        }
        return true;
    }

    void turn(const std::string& line) {
        std::string prompt = "User: " + line + "\nAssistant:";
        if (tmpl.active && !tmpl.prompt_for(s.model, o.system, line, &prompt)) return;
        remember("user", line);
        ttt_status status = TTT_OK;
        const std::string reply = stream_reply(s, o, prompt, &status);
        if (tmpl.active) tmpl.replied(reply);
        std::printf("\n");
        std::fflush(stdout);
        std::fprintf(stderr, "(Soul Level: %" PRIu64 ")\n", s.level());
        // The turn is logged with the reply as far as it went, so memories never hold a question without its answer.
        if (status == TTT_OK || status == TTT_ERR_ABORTED) remember("assistant", reply);
        if (status == TTT_ERR_ABORTED) ++handled;  // only a signal cancels here: it stopped this reply
    }
};

}  // namespace

int cmd_chat(int argc, char** argv) {
    Options o;
    o.stops.push_back("\nUser:");
    const std::string usage = "usage: bit-ttt chat -m MODEL [--soul FILE] [--no-save-soul] [--memories DIR] [options]\n";
    for (int i = 1; i < argc; ++i) {
        if (is_help(argv[i])) {
            std::printf("%s%s%s", usage.c_str(), kSamplingHelp, kChatHelp);
            return 0;
        }
        if (!parse_option(argc, argv, i, o)) return 2;
    }
    if (o.model.empty()) {
        std::fprintf(stderr, "%s%s%s", usage.c_str(), kSamplingHelp, kChatHelp);
        return 2;
    }
    const std::string soul_path = o.soul.empty() || o.no_save_soul ? "" : o.soul;
    if (!soul_path.empty() && !check_soul_writable(soul_path)) return 1;
    Session s;
    Interrupts interrupts;  // after s (stops watching before s is destroyed), before the library starts threads
    if (!s.open(o)) return 1;
    interrupts.watch(s.ctx);
    LineReader input;
    Chat chat{s, o, interrupts, input, soul_path, {}, {}};
    size_t template_len = 0;
    if (!o.no_template) {  // a size query: TTT_ERR_BUFFER_TOO_SMALL with the length when there is a template
        const ttt_status st = ttt_model_chat_template(s.model, nullptr, 0, &template_len);
        if (st != TTT_OK && st != TTT_ERR_BUFFER_TOO_SMALL) template_len = 0;
    }
    if (template_len > 0) {
        // The template's control tokens are real special tokens (and it writes BOS itself where the model wants one);
        // the turn ends at the model's end-of-turn token, not at a "User:" line.
        chat.tmpl.active = true;
        o.gen.tokenize_flags = TTT_TOKENIZE_PARSE_SPECIAL;
        if (!o.stops.empty() && o.stops.front() == "\nUser:") o.stops.erase(o.stops.begin());
        std::fprintf(stderr, "chat template: the model's own (tokenizer_config.json)%s\n", o.system.empty() ? "" : ", with your system message");
    } else if (!o.system.empty()) {
        std::fprintf(stderr, "bit-ttt: --system needs a model with a chat template (tokenizer_config.json)\n");
        return 2;
    }
    std::fprintf(stderr, "bit-ttt chat: /reset /save [FILE] /load [FILE] /temp T /len N /sleep /wake /quit\n");
    if (soul_path.empty())
        std::fprintf(stderr, "soul: %s; not saved unless you type /save FILE\n",
                     o.soul.empty() ? "fresh (no --soul FILE)" : ("from " + o.soul + " (--no-save-soul)").c_str());
    else
        std::fprintf(stderr, "soul: %s %s; saved there at the end, after /sleep and after /wake (level %" PRIu64 ")\n",
                     s.level() > 0 || ::access(soul_path.c_str(), F_OK) == 0 ? "loaded from" : "new, to be created at",
                     soul_path.c_str(), s.level());
    std::fprintf(stderr, "memories: %s\n", o.memories.c_str());
    std::string line;
    bool ended_by_signal = false;
    for (;;) {
        // SIGTERM, or a Ctrl-C that stopped nothing (pressed at the prompt, or a second one during a reply): end
        // like /quit, saving.
        if (interrupts.terminate() || chat.unhandled_signal()) {
            ended_by_signal = true;
            break;
        }
        std::fprintf(stderr, "> ");
        if (!chat.pending.empty()) {
            line = chat.pending.front();
            chat.pending.pop_front();
        } else {
            const LineReader::Result r = input.read(&line, [&] { return chat.unhandled_signal(); });
            if (r == LineReader::Result::End) break;
            if (r == LineReader::Result::Stopped) {
                std::fprintf(stderr, "\n");
                continue;  // the check at the top ends the chat
            }
        }
        if (line.empty()) continue;
        if (line[0] != '/') chat.turn(line);
        else if (!chat.command(line)) break;
    }
    interrupts.watch(nullptr);
    chat.autosave();
    return ended_by_signal ? interrupts.exit_code() : 0;
}
