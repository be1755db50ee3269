// Training routes: tokenizer, data preparation, training runs (start, stop, resume), memory estimate, export.
#include <httplib.h>

#include "common/error.h"
#include "http_error.h"
#include "io/file.h"
#include "json_body.h"
#include "studio.h"
#include "tokenizer/tokenizer.h"

namespace studio {

namespace {

std::vector<std::string> input_files(const Folders& folders, const JsonBody& b) {
    std::vector<std::string> out;
    for (const std::string& p : b.str_list("inputs", 256)) out.push_back(folders.existing(p));
    if (out.empty()) throw bad_request("inputs: pick at least one text file");
    return out;
}

// Options as `bit-ttt train` flags, by their JSON names (dim, layers, steps, lr, ...), range-checked here;
// validate_train_options checks the combinations.
ttt::TrainOptions train_options(const JsonBody& o, int threads) {
    ttt::TrainOptions t;
    t.dim = static_cast<int32_t>(o.int_or("dim", 64, 4, 8192));
    t.layers = static_cast<int32_t>(o.int_or("layers", 2, 1, 256));
    t.intermediate_dim = static_cast<int32_t>(o.int_or("intermediate_dim", 0, 0, 65536));
    t.inner_lr = static_cast<float>(o.num_or("inner_lr", t.inner_lr, 0, 10));
    t.ttt_chunk = static_cast<int32_t>(o.int_or("ttt_chunk", t.ttt_chunk, 1, 4096));
    t.context_len = static_cast<int32_t>(o.int_or("context_len", 64, 2, 65536));
    t.batch_size = static_cast<int32_t>(o.int_or("batch_size", 8, 1, 4096));
    t.steps = o.int_or("steps", 200, 1, 100000000);
    t.lr = o.num_or("lr", 2e-3, 0, 1);
    t.min_lr = o.num_or("min_lr", 1e-4, 0, 1);
    t.warmup_steps = o.int_or("warmup_steps", 20, 0, 100000000);
    t.accum = static_cast<int32_t>(o.int_or("accum", 1, 1, 1024));
    t.clip = o.num_or("clip", 1.0, 0, 1e6);
    t.weight_decay = static_cast<float>(o.num_or("weight_decay", 0.05, 0, 10));
    t.seed = static_cast<uint64_t>(o.int_or("seed", 1, 0, 1LL << 53));
    t.eval_interval = o.int_or("eval_interval", 25, 0, 100000000);
    t.eval_batches = static_cast<int32_t>(o.int_or("eval_batches", 4, 1, 10000));
    t.save_interval = o.int_or("save_interval", 50, 0, 100000000);
    t.keep_last = static_cast<int32_t>(o.int_or("keep_last", 3, 0, 1000));
    t.threads = threads;
    return t;
}

int32_t tokenizer_vocab(const std::string& data_dir) {
    std::vector<uint8_t> b = ttt::read_file(data_dir + "/tokenizer.json");
    return ttt::Tokenizer::from_json(std::string(b.begin(), b.end()))->vocab_size();
}

}  // namespace

void add_training_routes(httplib::Server& server, Studio& st) {
    server.Post("/api/train/vocab", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const auto inputs = input_files(st.folders, b);
            const int vocab = static_cast<int>(b.int_or("vocab_size", 1024, 260, 1 << 20));
            const std::string out = st.folders.writable(b.str("out"));
            st.jobs.start_vocab(inputs, vocab, out);
            send_json(res, st.jobs.status_json(0));
        });
    });

    server.Post("/api/train/data", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const std::string tok = st.folders.existing(b.str("tokenizer"));
            const auto inputs = input_files(st.folders, b);
            const std::string out = st.folders.make_folder(b.str("out"));
            st.jobs.start_data(tok, inputs, out, b.num_or("val_fraction", 0.05, 0, 0.9));
            send_json(res, st.jobs.status_json(0));
        });
    });

    server.Post("/api/train/start", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            ttt::TrainOptions t = train_options(b.object_or_empty("options"), st.threads);
            t.data_dir = st.folders.existing(b.str("data"));
            t.out_dir = st.folders.make_folder(b.str("out"));
            t.resume = b.bool_or("resume", false);
            st.jobs.start_train(t);
            send_json(res, st.jobs.status_json(0));
        });
    });

    server.Post("/api/train/stop", [&st](const httplib::Request&, httplib::Response& res) {
        handle(res, [&] {
            st.jobs.stop();
            send_json(res, st.jobs.status_json(SIZE_MAX));
        });
    });

    server.Post("/api/train/estimate", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            ttt::TrainOptions t = train_options(b.object_or_empty("options"), st.threads);
            int32_t vocab = static_cast<int32_t>(b.int_or("vocab_size", 0, 0, 1 << 22));
            if (!vocab && b.has("data")) vocab = tokenizer_vocab(st.folders.existing(b.str("data")));
            send_json(res, TrainingJobs::estimate_json(t, vocab ? vocab : 1024));
        });
    });

    server.Post("/api/train/export", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const std::string out = st.folders.existing(b.str("out"));
            const std::string data = st.folders.existing(b.str("data"));
            send_json(res, JsonOut().str("model", st.folders.display(st.jobs.export_checkpoint(out, data))).done());
        });
    });

    server.Get("/api/train", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            const std::string since = req.get_param_value("since");
            if (since.size() > 12 || since.find_first_not_of("0123456789") != std::string::npos)
                throw bad_request("since: expected a point index");
            send_json(res, st.jobs.status_json(since.empty() ? 0 : std::stoull(since)));
        });
    });
}

}  // namespace studio
