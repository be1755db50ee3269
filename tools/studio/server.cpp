// The HTTP server: the embedded page, the request guards (Host and Origin checks against DNS rebinding and
// cross-site requests, JSON bodies only, a body size limit), JSON errors for everything, and a clean stop on
// SIGINT/SIGTERM (a training run checkpoints, a sleep is woken).
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <thread>

#include <pthread.h>

#include "assets.h"
#include "common/error.h"
#include "http_error.h"
#include "json_body.h"
#include "studio.h"

namespace studio {

void send_json(httplib::Response& res, const std::string& json, int status) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(json, "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    send_json(res, "{\"error\":" + JsonOut().str("code", code).str("message", message).done() + "}", status);
}

void handle(httplib::Response& res, const std::function<void()>& fn) {
    try {
        fn();
    } catch (const HttpError& e) {
        send_error(res, e.status(), e.code(), e.what());
    } catch (const ttt::Error& e) {
        const int s = e.status() == TTT_ERR_PANIC || e.status() == TTT_ERR_OUT_OF_MEMORY ? 500 : 422;
        send_error(res, s, ttt_status_string(e.status()), e.what());
    } catch (const std::bad_alloc&) {
        send_error(res, 500, "out_of_memory", "out of memory");
    } catch (const std::exception& e) {
        send_error(res, 500, "internal", e.what());
    } catch (...) {
        send_error(res, 500, "internal", "unknown error");
    }
}

namespace {

constexpr size_t kMaxBody = 1 << 20;  // chat messages, persona texts and option sets are far smaller

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host == "[::]"; }

// The Host header must name the studio itself, so that a site whose name resolves to 127.0.0.1 (DNS rebinding)
// cannot use it. Listening on every address (--host 0.0.0.0) the machine's names are not known: any is accepted.
bool host_allowed(const std::string& host_header, const StudioOptions& o) {
    if (is_wildcard(o.host)) return true;
    const std::string port = ":" + std::to_string(o.port);
    for (const char* h : {"127.0.0.1", "localhost", "[::1]"})
        if (host_header == h + port) return true;
    return host_header == o.host + port;
}

void add_page_routes(httplib::Server& server) {
    server.Get(R"(/([A-Za-z0-9_.-]*))", [](const httplib::Request& req, httplib::Response& res) {
        const std::string path = req.path == "/" ? "/index.html" : req.path;
        const Asset* a = find_asset(path.c_str());
        if (!a) return send_error(res, 404, "not_found", "no page file " + req.path);
        res.set_header("Cache-Control", "no-cache");
        res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->mime);
    });
}

}  // namespace

int run_studio(const StudioOptions& o) {
    // Signals go to one waiting thread (blocked here, before any thread starts, so every thread inherits the mask).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Studio studio(o.threads);
    try {
        for (const std::string& r : o.roots) studio.folders.add_root(r);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bit-ttt studio: %s\n", e.what());
        return 2;
    }
    if (!o.model.empty()) {
        try {
            studio.lab.load_model(studio.folders.existing(o.model));
            studio.lab.create_character("Assistant", studio.folders.make_folder("memories"));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bit-ttt studio: --model %s: %s\n", o.model.c_str(), e.what());
            return 1;
        }
    }

    httplib::Server server;
    server.new_task_queue = [] { return new httplib::ThreadPool(16); };
    server.set_payload_max_length(kMaxBody);
    server.set_keep_alive_max_count(1000);
    server.set_pre_routing_handler([&o](const httplib::Request& req, httplib::Response& res) {
        if (!host_allowed(req.get_header_value("Host"), o)) {
            send_error(res, 403, "forbidden", "unexpected Host header (the studio answers only to its own address)");
            return httplib::Server::HandlerResponse::Handled;
        }
        const std::string origin = req.get_header_value("Origin");
        if (!origin.empty() && origin != "http://" + req.get_header_value("Host")) {
            send_error(res, 403, "forbidden", "cross-origin requests are refused");
            return httplib::Server::HandlerResponse::Handled;
        }
        if (req.method == "POST" && req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
            send_error(res, 415, "unsupported_media_type", "POST bodies must be JSON (Content-Type: application/json)");
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        handle(res, [&] { std::rethrow_exception(ep); });
    });
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;  // our handlers wrote a JSON error already
        if (res.status == 413) return send_error(res, 413, "too_large", "the request body is larger than 1 MiB");
        send_error(res, res.status, res.status == 404 ? "not_found" : "http_" + std::to_string(res.status),
                   res.status == 404 ? "no such API route: " + req.method + " " + req.path : "request refused");
    });

    add_lab_routes(server, studio);
    add_chat_routes(server, studio);
    add_training_routes(server, studio);
    add_page_routes(server);

    if (!server.bind_to_port(o.host.c_str(), o.port)) {
        std::fprintf(stderr, "bit-ttt studio: cannot listen on %s:%d (in use?)\n", o.host.c_str(), o.port);
        return 1;
    }
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        server.stop();
    });
    std::fprintf(stderr, "Bit-Llama Studio on http://%s:%d/  (folders:", is_wildcard(o.host) ? "127.0.0.1" : o.host.c_str(), o.port);
    for (const std::string& r : studio.folders.roots()) std::fprintf(stderr, " %s", r.c_str());
    std::fprintf(stderr, ")  Ctrl-C stops it\n");
    server.listen_after_bind();
    // Stopped by a signal (or the listener failed): wake the waiter if it still waits, then let the jobs end.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    std::fprintf(stderr, "bit-ttt studio: stopping\n");
    return 0;
}

}  // namespace studio
