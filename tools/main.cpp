// bit-ttt: the command-line program of the SDK. Each subcommand lives in its own file.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "bit_ttt.h"
#include "cmd_generate.h"
#include "cmd_memory.h"
#include "cmd_model.h"
#include "cmd_studio.h"
#include "cmd_tokenizer.h"
#include "cmd_train.h"

namespace {

struct Command {
    const char* name;
    int (*run)(int argc, char** argv);
    const char* help;
};

const Command kCommands[] = {
    {"generate", cmd_generate, "generate -m MODEL -p PROMPT [sampling options]   stream text, print tokens/s"},
    {"chat", cmd_chat, "chat -m MODEL [--soul FILE] [--memories DIR]   interactive chat with memories and sleep"},
    {"tokenize", cmd_tokenize, "tokenize --tokenizer FILE TEXT    print token ids and pieces"},
    {"vocab", cmd_vocab, "vocab --input FILE... --vocab-size N --out tokenizer.json   train a byte-level BPE"},
    {"data", cmd_data, "data --tokenizer T --input FILE... --out DIR --val-fraction F   text to train.u32 / val.u32"},
    {"train", cmd_train, "train --data DIR --out DIR [options]   train a BitLlama (checkpoints, resume, .bitt export)"},
    {"eval", cmd_eval, "eval -m MODEL --data val.u32   loss, perplexity and bits per byte"},
    {"memory", cmd_memory, "memory -m MODEL --data val.u32   how well the soul remembers (position, recall, sleep, life)"},
    {"info", cmd_info, "info FILE|DIR            config, tensor table, sizes and checksum state of a model"},
    {"convert", cmd_convert, "convert IN OUT           model directory <-> .bitt (OUT ending in .bitt writes v3)"},
    {"studio", cmd_studio, "studio [--port N] [--model M] [--root DIR...]   Bit-Llama Studio: the web app on 127.0.0.1"},
    {"forward", cmd_forward, "forward -m MODEL --tokens 1,2,3   run tokens, print the top next-token logits"},
};

void usage() {
    std::printf("bit-ttt %s — BitLlama models with ternary weights and a soul that learns\n\nusage: bit-ttt COMMAND [ARGS]\n\n",
                ttt_version_string());
    for (const Command& c : kCommands) std::printf("  %s\n", c.help);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("bit-ttt %s (ABI %u)\n", ttt_version_string(), ttt_abi_version());
        return 0;
    }
    for (const Command& c : kCommands) {
        if (std::strcmp(argv[1], c.name) != 0) continue;
        // Commands that call the library's C++ directly (convert, info, train ...) catch its errors; what else escapes
        // (out of memory above all: a converter run under a memory limit) is reported, not left to std::terminate.
        try {
            return c.run(argc - 1, argv + 1);
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "bit-ttt %s: out of memory\n", c.name);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bit-ttt %s: %s\n", c.name, e.what());
        }
        return 1;
    }
    std::fprintf(stderr, "bit-ttt: unknown command '%s'\n\n", argv[1]);
    usage();
    return 2;
}
