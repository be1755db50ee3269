// bit-ttt memory -m MODEL --data FILE.u32 [options]: the memory measurements of src/train/memory_eval.h, printed as
// tables and optionally written as JSON.
#include "cmd_memory.h"

#include "cli_numbers.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "io/file.h"
#include "train/memory_eval.h"

namespace {

const char* const kUsage =
    "usage: bit-ttt memory -m MODEL --data FILE.u32 [options]\n"
    "  How well the soul remembers (docs/memory.md): loss by position, a second read, copying random tokens, fact\n"
    "  recall after learning and after sleep, stability over a long life. FILE.u32 is held-out text made with the\n"
    "  model's tokenizer.\n"
    "  --tests LIST        positions,second_read,copy,recall,sleep,stability (all)\n"
    "  --window N (2048)  --windows N (0 = every whole window of the file)   positions\n"
    "  --passages N (8)   --passage-len N (200)        second_read\n"
    "  --copy-passages N (16)  --copy-len N (64)       copy: random held-out tokens, read twice\n"
    "  --repeats LIST (1,3,10)                         recall: learn each fact this many times\n"
    "  --life N (50000)   --probes N (4)  --probe-len N (256)   stability\n"
    "  --threads N (0 = all cores)  --json FILE (write the report as JSON too)\n";

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

void print_report(const ttt::MemoryReport& r) {
    for (const std::string& t : r.ran) {
        if (t == "positions") {
            std::printf("loss by position (nats/token):\n");
            for (const auto& b : r.positions)
                if (b.count) std::printf("  %6lld–%-6lld %.4f  (%llu targets)\n", (long long)b.begin, (long long)b.end,
                                         b.mean_loss, (unsigned long long)b.count);
        } else if (t == "second_read") {
            std::printf("second read (%llu passages): first copy %.4f, second copy %.4f nats/token (%.0f%%)\n",
                        (unsigned long long)r.second_read_passages, r.second_read_first, r.second_read_second,
                        r.second_read_first > 0 ? 100.0 * r.second_read_second / r.second_read_first : 0.0);
        } else if (t == "copy") {
            std::printf("copy (%llu passages of random tokens): first copy %.4f, second copy %.4f nats/token (%.0f%%)\n",
                        (unsigned long long)r.copy_passages, r.copy_first, r.copy_second,
                        r.copy_first > 0 ? 100.0 * r.copy_second / r.copy_first : 0.0);
        } else if (t == "recall") {
            std::printf("fact recall, log p(answer | prefix) in nats: fresh soul, then after learning the fact k times\n");
            for (const auto& f : r.facts) {
                std::printf("  %-40s fresh %8.2f", (f.prefix + " →" + f.answer).c_str(), f.fresh_logprob);
                for (size_t k = 0; k < f.learned_logprob.size(); ++k)
                    std::printf("  k=%d %8.2f", r.repeats[k], f.learned_logprob[k]);
                std::printf("\n");
            }
        } else if (t == "sleep") {
            std::printf("recall after sleep on the facts as memories, log p(answer | prefix) in nats\n");
            for (const auto& f : r.facts)
                std::printf("  %-40s fresh %8.2f  after sleep %8.2f\n", (f.prefix + " →" + f.answer).c_str(),
                            f.fresh_logprob, f.after_sleep_logprob);
        } else if (t == "stability") {
            std::printf("stability: held-out loss %.4f with a fresh soul, %.4f after a life of %llu tokens (%+.1f%%)\n",
                        r.stability_fresh_loss, r.stability_after_loss, (unsigned long long)r.stability_life_tokens,
                        r.stability_fresh_loss > 0 ? 100.0 * (r.stability_after_loss / r.stability_fresh_loss - 1.0) : 0.0);
        }
    }
}

}  // namespace

int cmd_memory(int argc, char** argv) {
    std::string model, data, json_path;
    ttt::MemoryEvalOptions opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bit-ttt memory: %s needs a value\n%s", a.c_str(), kUsage);
            return 2;
        }
        const std::string v = argv[++i];
        long long n = 0;
        auto int_opt = [&](long long lo, long long hi, auto* dst) {
            const std::string bad = cli::parse_int(a, v, lo, hi, &n);
            if (!bad.empty()) {
                std::fprintf(stderr, "bit-ttt memory: %s\n", bad.c_str());
                return false;
            }
            *dst = static_cast<std::remove_reference_t<decltype(*dst)>>(n);
            return true;
        };
        bool ok = true;
        if (a == "-m" || a == "--model") model = v;
        else if (a == "--data") data = v;
        else if (a == "--json") json_path = v;
        else if (a == "--tests") opt.tests = split(v);
        else if (a == "--window") ok = int_opt(2, 1 << 20, &opt.window);
        else if (a == "--windows") ok = int_opt(0, 4096, &opt.windows);
        else if (a == "--passages") ok = int_opt(1, 4096, &opt.passages);
        else if (a == "--passage-len") ok = int_opt(2, 1 << 20, &opt.passage_len);
        else if (a == "--copy-passages") ok = int_opt(1, 4096, &opt.copy_passages);
        else if (a == "--copy-len") ok = int_opt(2, 1 << 20, &opt.copy_len);
        else if (a == "--life") ok = int_opt(0, 1LL << 40, &opt.life_tokens);
        else if (a == "--probes") ok = int_opt(1, 4096, &opt.probes);
        else if (a == "--probe-len") ok = int_opt(2, 1 << 20, &opt.probe_len);
        else if (a == "--threads") ok = int_opt(0, 1024, &opt.threads);
        else if (a == "--repeats") {
            opt.repeats.clear();
            for (const std::string& k : split(v)) {
                const std::string bad = cli::parse_int("--repeats", k, 1, 100000, &n);
                if (!bad.empty()) {
                    std::fprintf(stderr, "bit-ttt memory: %s\n", bad.c_str());
                    return 2;
                }
                opt.repeats.push_back(int32_t(n));
            }
        } else {
            std::fprintf(stderr, "bit-ttt memory: unknown option '%s'\n%s", a.c_str(), kUsage);
            return 2;
        }
        if (!ok) return 2;
    }
    if (model.empty() || data.empty()) {
        std::fprintf(stderr, "bit-ttt memory: -m MODEL and --data FILE.u32 are required\n%s", kUsage);
        return 2;
    }
    try {
        const ttt::MemoryReport r = ttt::evaluate_memory(model, data, opt);
        print_report(r);
        if (!json_path.empty()) ttt::write_file_atomic(json_path, r.to_json() + "\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bit-ttt memory: %s\n", e.what());
        return 1;
    }
}
