// The Training tab's background work: train a tokenizer (`bit-ttt vocab`), prepare data (`bit-ttt data`), train
// (`bit-ttt train`, with resume) and export a checkpoint to .bitt. Each runs the library's own code (train_bpe,
// prepare_data, run_training) on one background thread, so a run keeps going when the page is closed; the page
// polls status() and redraws its curve from the points kept here. One job at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "train/trainer.h"

namespace studio {

class TrainingJobs {
public:
    ~TrainingJobs();

    // Each throws HttpError 409 while another job runs (or 400 for bad options, checked before the thread starts).
    void start_vocab(const std::vector<std::string>& inputs, int vocab_size, const std::string& out);
    void start_data(const std::string& tokenizer, const std::vector<std::string>& inputs, const std::string& out,
                    double val_fraction);
    void start_train(ttt::TrainOptions options);
    // Export the newest checkpoint of out_dir to out_dir/model-step-N.bitt (synchronous; small models are quick).
    std::string export_checkpoint(const std::string& out_dir, const std::string& data_dir);
    void stop();  // a training run stops after the current update (checkpoint first); other jobs cannot stop
    // {"kind","state","progress",...,"points":[...from `since`]}.
    std::string status_json(size_t since);

    // Rough bytes needed to train: parameters, gradients, AdamW moments and activations.
    static std::string estimate_json(const ttt::TrainOptions& o, int32_t vocab_size);

private:
    struct Point {
        int64_t step;
        double loss;
        bool has_val;
        double val;
    };
    void begin(const std::string& kind, const std::string& description);
    void finish(const std::string& state, const std::string& message, const std::string& result_path = "");

    std::mutex mu_;
    std::thread thread_;
    bool running_ = false;
    std::atomic<bool> stop_{false};
    std::string kind_, state_ = "idle", description_, message_, result_path_, out_dir_, data_dir_;
    double progress_ = 0, eta_s_ = 0, tokens_per_s_ = 0, lr_ = 0;
    int64_t step_ = 0, total_ = 0;
    double started_ = 0, elapsed_ = 0;
    std::vector<Point> points_;
};

}  // namespace studio
