// `bit-ttt studio`: options, the shared state of the request handlers, and the route groups (one file each).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "folders.h"
#include "lab.h"
#include "training_jobs.h"

namespace httplib {
class Server;
struct Response;
}

namespace studio {

struct StudioOptions {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string model;               // loaded at start ("" = none)
    std::vector<std::string> roots;  // folders the page may use (default: the current folder)
    int threads = 0;                 // ttt_context_params.n_threads and the trainer's threads; 0 = automatic
};

struct Studio {
    explicit Studio(int threads) : lab(threads), threads(threads) {}
    Folders folders;
    Lab lab;
    TrainingJobs jobs;
    int threads;
};

// Runs fn; an HttpError, a ttt::Error or any other exception becomes the JSON error answer (never a crash).
void handle(httplib::Response& res, const std::function<void()>& fn);
void send_json(httplib::Response& res, const std::string& json, int status = 200);
void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message);

void add_lab_routes(httplib::Server& server, Studio& studio);
void add_chat_routes(httplib::Server& server, Studio& studio);
void add_training_routes(httplib::Server& server, Studio& studio);

// Serve until SIGINT/SIGTERM. Returns the exit status.
int run_studio(const StudioOptions& options);

}  // namespace studio
