// bit-ttt vocab --input FILE... --vocab-size N [--min-frequency N] [--special TOKEN...] --out tokenizer.json
// bit-ttt tokenize --tokenizer tokenizer.json [--no-special] [--parse-special] TEXT   (TEXT "-" reads stdin)
#include "cmd_tokenizer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "common/error.h"
#include "io/file.h"
#include "tokenizer/tokenizer.h"

namespace {

const char* const kVocabUsage =
    "usage: bit-ttt vocab --input FILE... --vocab-size N [--min-frequency N] [--special TOKEN...] --out FILE\n"
    "  Train a byte-level BPE tokenizer (GPT-2 style) and write its tokenizer.json.\n"
    "  --input FILE...     training text files (UTF-8; other bytes are learned as bytes)\n"
    "  --vocab-size N      total vocab size including special tokens and the 256 byte tokens\n"
    "  --min-frequency N   do not merge pairs seen fewer than N times (default 2)\n"
    "  --special TOKEN...  special tokens, given ids 0, 1, ... (e.g. \"<|endoftext|>\")\n"
    "  --out FILE          output path (written to a temp file, then renamed)\n";

const char* const kTokenizeUsage =
    "usage: bit-ttt tokenize --tokenizer FILE [--no-special] [--parse-special] TEXT\n"
    "  Print one line per token: its id and the bytes it stands for (escaped). TEXT \"-\" reads stdin.\n"
    "  --no-special      do not add BOS/EOS\n"
    "  --parse-special   treat special tokens written in TEXT (e.g. \"</s>\") as control tokens\n";

bool parse_int(const char* s, long lo, long hi, long* out) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// Write text to path crash-safely (the library's file layer: temp file, fsync, rename, stale temp files cleaned).
bool write_file_atomic(const std::string& path, const std::string& text, std::string* error) {
    try {
        ttt::write_file_atomic(path, text);
        return true;
    } catch (const ttt::Error& e) {
        *error = e.what();
        return false;
    }
}

// A token's bytes for a terminal: printable ASCII and valid UTF-8 as is, the rest escaped.
std::string escape_piece(const std::string& s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool valid = len > 1 && i + len <= s.size();
        for (size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (valid) {
            out.append(s, i, len);
            i += len;
            continue;
        }
        switch (c) {
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            default:
                if (c >= 0x20 && c < 0x7F) {
                    out.push_back(static_cast<char>(c));
                } else {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02X", c);
                    out += buf;
                }
        }
        ++i;
    }
    return out + "\"";
}

bool read_file(const std::string& path, std::string* out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return !f.bad();
}

}  // namespace

int cmd_vocab(int argc, char** argv) {
    std::vector<std::string> inputs, specials;
    std::string out;
    long vocab_size = 0, min_frequency = 2;
    std::vector<std::string>* list = nullptr;  // the option that takes the following bare words
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kVocabUsage, stdout);
            return 0;
        }
        if (a == "--input") {
            list = &inputs;
        } else if (a == "--special") {
            list = &specials;
        } else if (a == "--vocab-size" || a == "--min-frequency" || a == "--out") {
            list = nullptr;
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bit-ttt vocab: %s needs a value\n%s", a.c_str(), kVocabUsage);
                return 1;
            }
            const char* v = argv[++i];
            if (a == "--out") {
                out = v;
            } else if (!parse_int(v, a == "--vocab-size" ? 1 : 0, 1L << 24, a == "--vocab-size" ? &vocab_size : &min_frequency)) {
                std::fprintf(stderr, "bit-ttt vocab: %s: not a valid number: %s\n", a.c_str(), v);
                return 1;
            }
        } else if (list && (a.rfind("--", 0) != 0 || list == &specials)) {
            // Special tokens may look like anything except our own option names.
            list->push_back(a);
        } else {
            std::fprintf(stderr, "bit-ttt vocab: unexpected argument: %s\n%s", a.c_str(), kVocabUsage);
            return 1;
        }
    }
    if (inputs.empty() || vocab_size == 0 || out.empty()) {
        std::fprintf(stderr, "bit-ttt vocab: --input, --vocab-size and --out are required\n%s", kVocabUsage);
        return 1;
    }
    int last = -1;  // last percentage shown; -1 = no progress line on the terminal yet
    try {
        std::string json = ttt::train_bpe(inputs, static_cast<int32_t>(vocab_size), static_cast<int32_t>(min_frequency),
                                          specials, [&last](double p) {
                                              int pct = static_cast<int>(p * 100);
                                              if (pct / 10 != last / 10) std::fprintf(stderr, "\rtraining %3d%%", pct);
                                              last = pct;
                                          });
        std::fprintf(stderr, "\n");
        auto tok = ttt::Tokenizer::from_json(json);  // check that what we write loads
        std::string error;
        if (!write_file_atomic(out, json, &error)) {
            std::fprintf(stderr, "bit-ttt vocab: %s\n", error.c_str());
            return 1;
        }
        std::fprintf(stderr, "wrote %s (%d tokens)\n", out.c_str(), tok->vocab_size());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%sbit-ttt vocab: %s\n", last >= 0 ? "\n" : "", e.what());
        return 1;
    }
}

int cmd_tokenize(int argc, char** argv) {
    std::string tokenizer_path, text;
    bool add_special = true, parse_special = false, have_text = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kTokenizeUsage, stdout);
            return 0;
        } else if (a == "--tokenizer") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "bit-ttt tokenize: --tokenizer needs a value\n%s", kTokenizeUsage);
                return 1;
            }
            tokenizer_path = argv[++i];
        } else if (a == "--no-special") {
            add_special = false;
        } else if (a == "--parse-special") {
            parse_special = true;
        } else if (!have_text && (a == "-" || a.rfind("--", 0) != 0)) {
            text = a;
            have_text = true;
        } else {
            std::fprintf(stderr, "bit-ttt tokenize: unexpected argument: %s\n%s", a.c_str(), kTokenizeUsage);
            return 1;
        }
    }
    if (tokenizer_path.empty() || !have_text) {
        std::fprintf(stderr, "bit-ttt tokenize: --tokenizer and TEXT are required\n%s", kTokenizeUsage);
        return 1;
    }
    if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    try {
        std::string json;
        if (!read_file(tokenizer_path, &json)) {
            std::fprintf(stderr, "bit-ttt tokenize: cannot read %s\n", tokenizer_path.c_str());
            return 1;
        }
        auto tok = ttt::Tokenizer::from_json(json);
        for (int32_t id : tok->encode(text, add_special, parse_special)) {
            std::printf("%d\t%s\n", id, escape_piece(tok->token_to_piece(id)).c_str());
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bit-ttt tokenize: %s\n", e.what());
        return 1;
    }
}
