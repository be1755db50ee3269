// cpp_raii.cpp — small RAII wrappers over the C API: unique_ptr with custom deleters, exceptions from status codes.
//
//     cpp_raii MODEL
//
// The C ABI stays the contract; these ~60 lines are all a C++ program needs to use it safely: handles free
// themselves, every failure becomes an exception carrying the status and the library's message, and the streaming
// callback takes any C++ callable. Copy them into your project as a starting point.
//
// Checks (exit status 0 only when all hold): a failing load throws ttt::error with TTT_ERR_IO and the library's
// message; text survives tokenize → detokenize byte for byte (non-ASCII included); streaming into a lambda gives the
// same text as the pull-style loop with the same seed.
#include <bit_ttt.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ttt {

// A failed call: the status and the message of ttt_last_error() (read on the failing thread, right away).
class error : public std::runtime_error {
public:
    error(ttt_status status, const char* what) : std::runtime_error(std::string(ttt_status_string(status)) + ": " + what), status_(status) {}
    ttt_status status() const noexcept { return status_; }

private:
    ttt_status status_;
};

inline void check(ttt_status s) {
    if (s != TTT_OK) throw error(s, ttt_last_error());
}

struct model_deleter {
    void operator()(ttt_model* m) const noexcept { ttt_model_free(m); }
};
struct context_deleter {
    void operator()(ttt_context* c) const noexcept { ttt_destroy(c); }
};
using model_ptr = std::unique_ptr<ttt_model, model_deleter>;
using context_ptr = std::unique_ptr<ttt_context, context_deleter>;

inline model_ptr load_model(const std::string& path) {
    ttt_model* m = nullptr;
    check(ttt_load_model(path.c_str(), nullptr, &m));
    return model_ptr(m);
}

inline context_ptr create_context(const model_ptr& model) {
    ttt_context* c = nullptr;
    check(ttt_create(model.get(), nullptr, &c));
    return context_ptr(c);
}

inline std::vector<int32_t> tokenize(const model_ptr& model, std::string_view text, uint32_t flags = 0) {
    size_t n = 0;
    ttt_status s = ttt_tokenize(model.get(), text.data(), text.size(), flags, nullptr, 0, &n);  // size query
    if (s != TTT_ERR_BUFFER_TOO_SMALL) check(s);
    std::vector<int32_t> ids(n);
    check(ttt_tokenize(model.get(), text.data(), text.size(), flags, ids.data(), ids.size(), &n));
    return ids;
}

inline std::string detokenize(const model_ptr& model, const std::vector<int32_t>& ids) {
    size_t n = 0;
    ttt_status s = ttt_detokenize(model.get(), ids.data(), ids.size(), 0, nullptr, 0, &n);
    if (s != TTT_ERR_BUFFER_TOO_SMALL) check(s);
    std::string text(n, '\0');
    check(ttt_detokenize(model.get(), ids.data(), ids.size(), 0, &text[0], text.size(), &n));  // no room for NUL: fine
    return text;
}

// Streams generated text into any callable `bool(std::string_view piece)`; returning false stops. An exception
// thrown by the callable is carried across the C frames (never through them) and rethrown here.
template <class F>
int32_t generate(const context_ptr& ctx, std::string_view prompt, const ttt_generate_params& params, F&& on_text) {
    struct state {
        F* fn;
        std::exception_ptr failure;
    } st{&on_text, nullptr};
    auto thunk = [](const char* text, size_t len, int32_t, void* user) -> int32_t {
        auto* s = static_cast<state*>(user);
        try {
            return (*s->fn)(std::string_view(text, len)) ? 1 : 0;
        } catch (...) {
            s->failure = std::current_exception();
            return 0;
        }
    };
    int32_t reason = TTT_STOP_NONE;
    ttt_status status = ttt_generate(ctx.get(), prompt.data(), prompt.size(), &params, thunk, &st, &reason);
    if (st.failure) std::rethrow_exception(st.failure);
    check(status);
    return reason;
}

// Pull-style: the caller owns the loop.
inline std::string generate_text(const context_ptr& ctx, std::string_view prompt, const ttt_generate_params& params) {
    check(ttt_generate_begin(ctx.get(), prompt.data(), prompt.size(), &params));
    std::string out;
    for (int32_t stop = TTT_STOP_NONE, token; stop == TTT_STOP_NONE;) {
        const char* text = nullptr;
        size_t len = 0;
        check(ttt_generate_next(ctx.get(), &token, &text, &len, &stop));
        out.append(text, len);
    }
    return out;
}

}  // namespace ttt

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    try {
        // Errors are exceptions with the library's message.
        try {
            ttt::load_model("/no/such/model.bitt");
            std::fprintf(stderr, "FAIL: loading a missing file did not throw\n");
            return 1;
        } catch (const ttt::error& e) {
            std::printf("expected error: %s\n", e.what());
            if (e.status() != TTT_ERR_IO) {
                std::fprintf(stderr, "FAIL: status %d, expected TTT_ERR_IO\n", e.status());
                return 1;
            }
        }

        ttt::model_ptr model = ttt::load_model(argv[1]);
        ttt::context_ptr ctx = ttt::create_context(model);

        // UTF-8 round trip through the tokenizer.
        const std::string text = "Grüße, 世界! 🐉 ドラゴン";
        std::vector<int32_t> ids = ttt::tokenize(model, text);
        std::string back = ttt::detokenize(model, ids);
        std::printf("\"%s\" -> %zu tokens -> \"%s\"\n", text.c_str(), ids.size(), back.c_str());
        if (back != text) {
            std::fprintf(stderr, "FAIL: tokenize/detokenize changed the text\n");
            return 1;
        }

        // Streaming into a lambda, then the same request pull-style on a fresh soul.
        ttt_generate_params gp;
        ttt::check(ttt_generate_params_init(&gp, sizeof gp));
        gp.max_tokens = 30;
        gp.seed = 2024;
        std::string streamed;
        int32_t reason = ttt::generate(ctx, "The dragon said:", gp, [&](std::string_view piece) {
            streamed += piece;
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            return true;
        });
        std::printf("\n[stop reason %d]\n", reason);
        ttt::check(ttt_reset(ctx.get()));
        std::string pulled = ttt::generate_text(ctx, "The dragon said:", gp);
        if (streamed.empty() || streamed != pulled) {
            std::fprintf(stderr, "FAIL: streamed and pulled text differ\n");
            return 1;
        }
        std::printf("OK: RAII wrappers: errors as exceptions, UTF-8 round trip, identical streamed and pulled text\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "FAIL: %s\n", e.what());
        return 1;
    }
}
