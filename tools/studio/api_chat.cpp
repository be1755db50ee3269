// Chat: a reply streamed as server-sent events over the POST response (the page reads it with fetch), stop,
// sampling settings; the user's line and the reply are appended to the character's memories.
//
// Events: `data: {"text": "..."}` for each piece of text; then `event: done` with the stop reason, token count,
// tokens/s and the soul level, or `event: error` with {"error": {...}} when generation failed mid-way.
#include <httplib.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "abi_error.h"
#include "http_error.h"
#include "json_body.h"
#include "studio.h"

namespace studio {

namespace {

struct ChatTurn {
    std::unique_ptr<Lease> character;
    std::string message, prompt;
    const char* format = "plain";  // plain, chat_template or raw
    bool remember = true;
    ttt_generate_params params{};
    std::vector<std::string> stops;
    std::vector<const char*> stop_ptrs;
};

const char* stop_name(int32_t r) {
    switch (r) {
        case TTT_STOP_EOS: return "eos";
        case TTT_STOP_MAX_TOKENS: return "max_tokens";
        case TTT_STOP_STRING: return "stop_string";
        case TTT_STOP_CALLBACK: return "callback";
        default: return "none";
    }
}

bool send_event(httplib::DataSink& sink, const std::string& event, const std::string& json) {
    std::string s = event.empty() ? "" : "event: " + event + "\n";
    s += "data: " + json + "\n\n";
    return sink.write(s.data(), s.size());
}

ttt_perf perf_of(ttt_context* ctx) {
    ttt_perf p{};
    p.struct_size = sizeof p;
    ttt_get_perf(ctx, &p);
    return p;
}

void remember(ChatTurn& t, const char* role, const std::string& text) {
    if (!t.remember || text.empty()) return;
    if (ttt_remember((*t.character)->memories_dir.c_str(), role, text.data(), text.size()) != TTT_OK)
        std::fprintf(stderr, "bit-ttt studio: could not log the memory: %s\n", ttt_last_error());
}

// Runs on the HTTP worker thread that streams the response.
void stream_reply(Lab& lab, ChatTurn& t, httplib::DataSink& sink) {
    ttt_context* ctx = (*t.character)->ctx;
    remember(t, "user", t.message);
    const ttt_perf before = perf_of(ctx);
    std::string reply;
    int32_t reason = TTT_STOP_NONE, token = -1;
    bool client_gone = false, stopped = false;
    ttt_status s = ttt_generate_begin(ctx, t.prompt.data(), t.prompt.size(), &t.params);
    const bool template_turn = std::string(t.format) == "chat_template", began = s == TTT_OK;
    if (!began && template_turn) (*t.character)->conversation.unread(t.prompt);  // e.g. a full KV cache
    while (s == TTT_OK && reason == TTT_STOP_NONE) {
        const char* text = nullptr;
        size_t len = 0;
        s = ttt_generate_next(ctx, &token, &text, &len, &reason);
        if (s == TTT_OK && len) {
            reply.append(text, len);
            if (!send_event(sink, "", JsonOut().str("text", std::string(text, len)).done())) {
                client_gone = true;  // the page went away: stop generating
                break;
            }
        }
    }
    std::string error;
    if (s == TTT_ERR_ABORTED) stopped = true;
    else if (s != TTT_OK) error = ttt_last_error();
    remember(t, "assistant", reply);
    if (template_turn && began) (*t.character)->conversation.replied(reply);  // what it generated, it has read
    lab.add_history(**t.character, "user", t.message);
    lab.add_history(**t.character, "assistant", reply);
    if (client_gone) return;
    if (!error.empty()) {
        send_event(sink, "error", "{\"error\":" + JsonOut().str("code", ttt_status_string(s)).str("message", error).done() + "}");
        return;
    }
    const ttt_perf after = perf_of(ctx);
    const double secs = after.generation_seconds - before.generation_seconds;
    const uint64_t n = after.generated_tokens - before.generated_tokens;
    send_event(sink, "done", JsonOut()
                                 .str("stop_reason", stopped ? "stopped" : stop_name(reason))
                                 .integer("tokens", static_cast<long long>(n))
                                 .num("tokens_per_s", secs > 0 ? double(n) / secs : 0.0)
                                 .str("text", reply)
                                 .str("format", t.format)
                                 .str("prompt", t.prompt)  // what the model was fed this turn
                                 .raw("character", lab.soul_json(**t.character))
                                 .done());
}

}  // namespace

void add_chat_routes(httplib::Server& server, Studio& st) {
    server.Post("/api/chat", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            if (!b.has("character")) throw bad_request("character: required");
            const int id = static_cast<int>(b.int_or("character", 0, 1, INT_MAX));
            auto t = std::make_shared<ChatTurn>();
            t->message = b.str("message", 16 * 1024);
            if (t->message.empty()) throw bad_request("message: must not be empty");
            JsonBody s = b.object_or_empty("settings");
            ttt_generate_params& p = t->params;
            ttt_generate_params_init(&p, sizeof p);
            p.max_tokens = static_cast<int32_t>(s.int_or("max_tokens", 200, 1, 4096));
            p.temperature = static_cast<float>(s.num_or("temperature", p.temperature, 0, 10));
            p.top_k = static_cast<int32_t>(s.int_or("top_k", p.top_k, 0, 100000));
            p.top_p = static_cast<float>(s.num_or("top_p", p.top_p, 0, 1));
            p.min_p = static_cast<float>(s.num_or("min_p", p.min_p, 0, 1));
            p.repetition_penalty = static_cast<float>(s.num_or("repetition_penalty", p.repetition_penalty, 0.01, 10));
            p.presence_penalty = static_cast<float>(s.num_or("presence_penalty", 0, -10, 10));
            p.frequency_penalty = static_cast<float>(s.num_or("frequency_penalty", 0, -10, 10));
            p.seed = static_cast<uint64_t>(s.int_or("seed", 1, 0, (1LL << 53)));
            // The chat turn format of `bit-ttt chat` (chat_format.h): the model's chat template when it has one,
            // else "User: ...\nAssistant:"; a raw prompt (no format, as `bit-ttt generate`) on request.
            const bool raw = b.bool_or("raw", false);
            t->remember = b.bool_or("remember", true);
            t->character = st.lab.acquire(id, "replying");
            Character& ch = **t->character;
            if (raw) {
                t->prompt = t->message;
                t->format = "raw";
            } else if (ch.chat_template) {
                t->prompt = ch.conversation.prompt_for(ch.model, t->message);
                p.tokenize_flags = TTT_TOKENIZE_PARSE_SPECIAL;  // its control tokens are the checkpoint's special tokens
                t->format = "chat_template";
            } else {
                t->prompt = "User: " + t->message + "\nAssistant:";
                t->stops.push_back("\nUser:");
                t->format = "plain";
            }
            for (const std::string& x : t->stops) t->stop_ptrs.push_back(x.c_str());
            p.stop_strings = t->stop_ptrs.data();
            p.n_stop_strings = t->stop_ptrs.size();
            Lab* lab = &st.lab;
            res.set_header("Cache-Control", "no-store");
            res.set_chunked_content_provider("text/event-stream", [lab, t](size_t, httplib::DataSink& sink) {
                try {
                    stream_reply(*lab, *t, sink);
                } catch (const std::exception& e) {
                    send_event(sink, "error", "{\"error\":" + JsonOut().str("code", "internal").str("message", e.what()).done() + "}");
                }
                t->character.reset();  // the character is free once the reply has ended
                sink.done();
                return true;
            });
        });
    });

    server.Get("/api/chat/history", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            const std::string id = req.get_param_value("character");
            if (id.empty() || id.size() > 10 || id.find_first_not_of("0123456789") != std::string::npos)
                throw bad_request("character: expected a character id");
            send_json(res, st.lab.history_json(std::atoi(id.c_str())));
        });
    });

    server.Post("/api/chat/stop", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            if (!b.has("character")) throw bad_request("character: required");
            st.lab.cancel(static_cast<int>(b.int_or("character", 0, 1, INT_MAX)));
            send_json(res, "{\"ok\":true}");
        });
    });
}

}  // namespace studio
