// The Model Lab's state: one loaded model (through the C ABI, like any user of the library), the characters
// talking to it (one ttt_context and soul each, with its own memories folder) and the sleep that replays
// memories into a soul on a background thread.
//
// Locking: mu_ guards the model, the character table and the sleep record. Long work on a character (a chat
// reply, learning a persona, sleep) holds a Lease: the character is marked busy, so a second request for it,
// a model load or unload is refused with 409 instead of waiting. While a sleep runs every character and model
// operation is refused ("the model is asleep"), as upstream's Studio locked its UI while the model dreamed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bit_ttt.h"
#include "chat_format.h"

namespace studio {

struct Character {
    int id = 0;
    std::string name;
    std::string memories_dir;  // canonical folder of YYYY-MM-DD.jsonl files
    std::string soul_path;     // the file last saved or loaded ("" = none; guarded by Lab::mu_)
    ttt_context* ctx = nullptr;
    std::atomic<bool> busy{false};
    // Set by a stop (chat stop, wake) and polled by the library before every token through the abort callback;
    // cleared when the next operation acquires the character. Unlike ttt_cancel alone, a stop that arrives
    // before the work has begun is not lost.
    std::atomic<bool> stop_requested{false};
    std::string busy_with;     // what holds it (guarded by Lab::mu_)
    // The conversation shown in the chat (the last kHistoryTurns turns; guarded by Lab::mu_), so that a page
    // opened again shows it. The soul and the memories are the lasting record; this is only the view.
    std::vector<std::pair<std::string, std::string>> history;  // (role, text)
    // The chat format (chat_format.h): the model's chat template when it has one. The conversation as the model
    // read it is used and changed only by the holder of the character's lease (a chat turn, a soul reset or load).
    const ttt_model* model = nullptr;
    bool chat_template = false;
    TemplateConversation conversation;
};

class Lab;

// Exclusive use of a character for one long operation; released on destruction.
class Lease {
public:
    Lease(Lab* lab, std::shared_ptr<Character> c) : lab_(lab), c_(std::move(c)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Character& operator*() const { return *c_; }
    Character* operator->() const { return c_.get(); }

private:
    Lab* lab_;
    std::shared_ptr<Character> c_;
};

struct SleepRequest {
    int character = 0;
    int max_days = 5;
    bool autosave = true;  // save to the character's soul file when the sleep completes (if it has one)
};

class Lab {
public:
    explicit Lab(int threads) : threads_(threads) {}
    ~Lab();

    // All of these throw HttpError; the *_json ones return the JSON the API answers with.
    std::string load_model(const std::string& canonical_path);
    void unload_model();
    std::string status_json();
    std::string model_json();

    std::string create_character(const std::string& name, const std::string& memories_dir);
    void delete_character(int id);

    // Exclusive use of a character for `what` (refused while it is busy or while the model sleeps).
    std::unique_ptr<Lease> acquire(int id, const std::string& what);
    // Stop the work running on a character (chat reply, persona, sleep). No-op when idle.
    void cancel(int id);

    std::string soul_json(Character& c);
    void set_soul_path(Character& c, const std::string& path);
    std::string memories_dir(int id);  // throws 404 for an unknown character
    void add_history(Character& c, const std::string& role, const std::string& text);
    std::string history_json(int id);
    void start_sleep(const SleepRequest& r);
    void wake();
    std::string sleep_json();

    int threads() const { return threads_; }
    std::string model_path();

private:
    friend class Lease;
    void release(Character& c);
    std::shared_ptr<Character> find_locked(int id);
    std::string character_json_locked(Character& c);
    void destroy_characters_locked();
    void check_idle_locked(const char* what);  // throws 409 while sleeping or a character is busy

    std::mutex mu_;
    std::mutex load_mu_;  // one model load at a time
    int threads_ = 0;
    ttt_model* model_ = nullptr;
    std::string model_path_;
    ttt_model_info info_{};
    std::map<int, std::shared_ptr<Character>> chars_;
    int next_id_ = 1;

    struct Sleep {
        bool running = false;
        int character = 0;
        std::string state = "idle";  // idle, sleeping, done, woken, failed
        float progress = 0;
        uint64_t tokens = 0;
        std::string message;
        std::thread thread;
    } sleep_;
    std::atomic<float> sleep_progress_{0};
};

}  // namespace studio
