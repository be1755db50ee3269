// bit-ttt studio [--port N] [--host H] [--model M] [--root DIR...] [--threads N]
#include "cmd_studio.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef TTT_HAVE_STUDIO
#include "studio/studio.h"
#endif

namespace {

const char* const kStudioUsage =
    "usage: bit-ttt studio [--port N] [--model M] [--root DIR...] [--threads N] [--host H]\n"
    "  Bit-Llama Studio: a page to load models, chat with characters whose souls learn, sleep on memories and\n"
    "  train models, served at http://127.0.0.1:N/ (default port 8080). Open it in a browser.\n"
    "  --model M       load M at start (a .bitt file or a model directory); its folder is opened too\n"
    "  --root DIR...   the folders the page may read and write (default: the current folder); paths from the page\n"
    "                  are taken inside them, and nothing outside them is opened\n"
    "  --threads N     threads of each character's context and of training runs (0 = automatic)\n"
    "  --host H        listen address (default 127.0.0.1). Anything else lets other machines use the studio and\n"
    "                  the files in its folders: there is no login\n";

bool parse_int(const char* s, long lo, long hi, long* out) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

}  // namespace

int cmd_studio(int argc, char** argv) {
#ifndef TTT_HAVE_STUDIO
    (void)argc;
    (void)argv;
    std::fprintf(stderr, "bit-ttt studio: this build has no studio (install libcpp-httplib-dev and rebuild)\n");
    return 1;
#else
    studio::StudioOptions o;
    bool in_roots = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kStudioUsage, stdout);
            return 0;
        }
        if (a == "--root") {
            in_roots = true;
            continue;
        }
        if (in_roots && a.rfind("--", 0) != 0) {
            o.roots.push_back(a);
            continue;
        }
        in_roots = false;
        if (i + 1 >= argc || (a != "--port" && a != "--host" && a != "--model" && a != "-m" && a != "--threads")) {
            std::fprintf(stderr, "bit-ttt studio: unexpected argument or missing value: %s\n%s", a.c_str(), kStudioUsage);
            return 2;
        }
        const char* v = argv[++i];
        long n = 0;
        if (a == "--port") {
            if (!parse_int(v, 1, 65535, &n)) {
                std::fprintf(stderr, "bit-ttt studio: --port: expected 1..65535: %s\n", v);
                return 2;
            }
            o.port = int(n);
        } else if (a == "--threads") {
            if (!parse_int(v, 0, 1024, &n)) {
                std::fprintf(stderr, "bit-ttt studio: --threads: expected 0..1024: %s\n", v);
                return 2;
            }
            o.threads = int(n);
        } else if (a == "--host") {
            o.host = v;
        } else {
            o.model = v;
        }
    }
    if (o.roots.empty()) o.roots.push_back(".");
    if (!o.model.empty()) {  // the model's folder is opened too: naming a model is choosing where it lives
        const size_t slash = o.model.find_last_of('/');
        o.roots.push_back(slash == std::string::npos ? "." : slash == 0 ? "/" : o.model.substr(0, slash));
    }
    if (o.host != "127.0.0.1" && o.host != "localhost")
        std::fprintf(stderr, "bit-ttt studio: WARNING: listening on %s, not only on this machine: anyone who can reach "
                             "it can use the model and the files in the studio's folders (there is no login)\n",
                     o.host.c_str());
    return studio::run_studio(o);
#endif
}
