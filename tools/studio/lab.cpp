#include "lab.h"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "abi_error.h"
#include "http_error.h"
#include "json_body.h"

namespace studio {

namespace {

std::string hex64(uint64_t v) {
    char b[20];
    std::snprintf(b, sizeof b, "%016" PRIx64, v);
    return b;
}

std::string info_json(const std::string& path, const ttt_model_info& i, bool chat_template) {
    return JsonOut()
        .boolean("loaded", true)
        .str("path", path)
        .integer("vocab_size", i.vocab_size)
        .integer("hidden_dim", i.hidden_dim)
        .integer("num_layers", i.num_layers)
        .integer("intermediate_dim", i.intermediate_dim)
        .integer("ttt_dim", i.ttt_dim)
        .integer("ttt_chunk", i.ttt_chunk)
        .integer("bitlinear_scale", i.bitlinear_scale)
        .integer("act_bits", i.act_bits)
        .num("inner_lr", i.inner_lr)
        .integer("bos_id", i.bos_id)
        .integer("eos_id", i.eos_id)
        .str("fingerprint", hex64(i.fingerprint))
        .integer("n_params", static_cast<long long>(i.n_params))
        .boolean("has_tokenizer", i.has_tokenizer != 0)
        .boolean("chat_template", chat_template)  // chats in the model's own template (else "User: ... Assistant:")
        .done();
}

}  // namespace

Lease::~Lease() { lab_->release(*c_); }

Lab::~Lab() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (sleep_.running)
            if (auto c = find_locked(sleep_.character)) c->stop_requested = true;
    }
    if (sleep_.thread.joinable()) sleep_.thread.join();
    std::lock_guard<std::mutex> lock(mu_);
    destroy_characters_locked();
    ttt_model_free(model_);
}

std::shared_ptr<Character> Lab::find_locked(int id) {
    auto it = chars_.find(id);
    return it == chars_.end() ? nullptr : it->second;
}

void Lab::destroy_characters_locked() {
    for (auto& kv : chars_) {
        ttt_destroy(kv.second->ctx);
        kv.second->ctx = nullptr;
    }
    chars_.clear();
}

void Lab::check_idle_locked(const char* what) {
    if (sleep_.running) throw conflict(std::string("the model is asleep: wake it before you ") + what);
    for (auto& kv : chars_)
        if (kv.second->busy)
            throw conflict("character '" + kv.second->name + "' is busy (" + kv.second->busy_with + "); stop it before you " + what);
}

std::string Lab::load_model(const std::string& path) {
    std::unique_lock<std::mutex> loading(load_mu_, std::try_to_lock);
    if (!loading.owns_lock()) throw conflict("another model is being loaded");
    {
        std::lock_guard<std::mutex> lock(mu_);
        check_idle_locked("load a model");
    }
    ttt_model* m = nullptr;
    ttt_status s = ttt_load_model(path.c_str(), nullptr, &m);
    if (s != TTT_OK) throw abi_error(s, "the model does not load");
    ttt_model_info info{};
    info.struct_size = sizeof info;
    ttt_model_get_info(m, &info);
    if (!info.has_tokenizer) {
        ttt_model_free(m);
        throw HttpError(422, "unsupported", "the model has no tokenizer: the studio needs one to chat (a .bitt with an "
                                            "embedded tokenizer, or tokenizer.json beside config.json)");
    }
    std::lock_guard<std::mutex> lock(mu_);
    try {
        check_idle_locked("load a model");  // something may have started during the load
    } catch (...) {
        ttt_model_free(m);
        throw;
    }
    destroy_characters_locked();  // their souls belong to the old model
    ttt_model_free(model_);
    model_ = m;
    model_path_ = path;
    info_ = info;
    return info_json(model_path_, info_, model_has_chat_template(model_));
}

void Lab::unload_model() {
    std::lock_guard<std::mutex> lock(mu_);
    check_idle_locked("unload the model");
    destroy_characters_locked();
    ttt_model_free(model_);
    model_ = nullptr;
    model_path_.clear();
}

std::string Lab::model_json() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!model_) return JsonOut().boolean("loaded", false).done();
    return info_json(model_path_, info_, model_has_chat_template(model_));
}

std::string Lab::model_path() {
    std::lock_guard<std::mutex> lock(mu_);
    return model_path_;
}

std::string Lab::create_character(const std::string& name, const std::string& memories_dir) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!model_) throw HttpError(409, "no_model", "load a model first");
    if (sleep_.running) throw conflict("the model is asleep: wake it first");
    if (chars_.size() >= 16) throw HttpError(409, "limit", "at most 16 characters at once");
    for (auto& kv : chars_)
        if (kv.second->name == name) throw HttpError(409, "exists", "a character named '" + name + "' exists already");
    ttt_context_params p;
    ttt_context_params_init(&p, sizeof p);
    p.n_threads = threads_;
    auto c = std::make_shared<Character>();
    ttt_status s = ttt_create(model_, &p, &c->ctx);
    if (s != TTT_OK) throw abi_error(s, "cannot create a context");
    ttt_set_abort_callback(c->ctx, [](void* self) -> int32_t {
        return static_cast<Character*>(self)->stop_requested.load() ? 1 : 0;
    }, c.get());
    c->id = next_id_++;
    c->name = name;
    c->model = model_;
    c->chat_template = model_has_chat_template(model_);
    c->memories_dir = memories_dir;
    chars_[c->id] = c;
    return character_json_locked(*c);
}

void Lab::delete_character(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto c = find_locked(id);
    if (!c) throw not_found("no character " + std::to_string(id));
    if (c->busy) throw conflict("character '" + c->name + "' is busy (" + c->busy_with + ")");
    ttt_destroy(c->ctx);
    c->ctx = nullptr;
    chars_.erase(id);
}

std::unique_ptr<Lease> Lab::acquire(int id, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (sleep_.running) throw conflict("the model is asleep: wake it first");
    auto c = find_locked(id);
    if (!c) throw not_found(model_ ? "no character " + std::to_string(id) : std::string("load a model first"));
    if (c->busy) throw conflict("character '" + c->name + "' is busy (" + c->busy_with + ")");
    c->busy = true;
    c->busy_with = what;
    c->stop_requested = false;
    return std::make_unique<Lease>(this, c);
}

void Lab::release(Character& c) {
    std::lock_guard<std::mutex> lock(mu_);
    c.busy = false;
    c.busy_with.clear();
}

void Lab::cancel(int id) {
    std::lock_guard<std::mutex> lock(mu_);  // contexts are destroyed only under mu_, so ctx stays valid here
    auto c = find_locked(id);
    if (!c) throw not_found("no character " + std::to_string(id));
    if (c->busy) c->stop_requested = true;
}

std::string Lab::character_json_locked(Character& c) {
    uint64_t level = 0, position = 0;
    ttt_get_soul_level(c.ctx, &level);
    ttt_get_position(c.ctx, &position);
    return JsonOut()
        .integer("id", c.id)
        .str("name", c.name)
        .str("memories_dir", c.memories_dir)
        .str("soul_path", c.soul_path)
        .integer("soul_level", static_cast<long long>(level))
        .integer("position", static_cast<long long>(position))
        .boolean("busy", c.busy)
        .str("busy_with", c.busy_with)
        .done();
}

void Lab::set_soul_path(Character& c, const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);  // status answers read it from other threads
    c.soul_path = path;
}

std::string Lab::soul_json(Character& c) {
    std::lock_guard<std::mutex> lock(mu_);
    return character_json_locked(c);
}

std::string Lab::memories_dir(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto c = find_locked(id);
    if (!c) throw not_found("no character " + std::to_string(id));
    return c->memories_dir;
}

void Lab::add_history(Character& c, const std::string& role, const std::string& text) {
    constexpr size_t kHistoryTurns = 200;
    std::lock_guard<std::mutex> lock(mu_);
    c.history.emplace_back(role, text);
    if (c.history.size() > kHistoryTurns) c.history.erase(c.history.begin());
}

std::string Lab::history_json(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto c = find_locked(id);
    if (!c) throw not_found("no character " + std::to_string(id));
    std::vector<std::string> turns;
    for (const auto& t : c->history) turns.push_back(JsonOut().str("role", t.first).str("text", t.second).done());
    return JsonOut().integer("character", id).raw("turns", json_array(turns)).done();
}

std::string Lab::status_json() {
    std::vector<std::string> chars;
    std::string model, sleep;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& kv : chars_) chars.push_back(character_json_locked(*kv.second));
        model = model_ ? info_json(model_path_, info_, model_has_chat_template(model_)) : JsonOut().boolean("loaded", false).done();
    }
    return JsonOut().raw("model", model).raw("characters", json_array(chars)).raw("sleep", sleep_json()).done();
}

void Lab::start_sleep(const SleepRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (sleep_.running) throw conflict("the model is asleep already");
    auto c = find_locked(r.character);
    if (!c) throw not_found("no character " + std::to_string(r.character));
    if (c->busy) throw conflict("character '" + c->name + "' is busy (" + c->busy_with + ")");
    if (sleep_.thread.joinable()) sleep_.thread.join();  // the previous sleep has ended (running is false)
    c->busy = true;
    c->busy_with = "sleeping";
    c->stop_requested = false;
    sleep_.running = true;
    sleep_.character = c->id;
    sleep_.state = "sleeping";
    sleep_.tokens = 0;
    sleep_.message.clear();
    sleep_progress_ = 0;
    const std::string autosave = r.autosave ? c->soul_path : "";
    const int max_days = r.max_days;
    sleep_.thread = std::thread([this, c, autosave, max_days] {
        ttt_sleep_params p;
        ttt_sleep_params_init(&p, sizeof p);
        p.memories_dir = c->memories_dir.c_str();
        p.max_days = max_days;
        p.autosave_path = autosave.empty() ? nullptr : autosave.c_str();
        p.progress_user_data = this;
        p.progress_callback = [](float progress, void* self) -> int32_t {
            static_cast<Lab*>(self)->sleep_progress_ = progress;
            return 1;
        };
        size_t learned = 0;
        ttt_status s = ttt_sleep(c->ctx, &p, &learned);
        std::string error = s == TTT_OK ? "" : ttt_last_error();
        std::lock_guard<std::mutex> lock(mu_);
        sleep_.running = false;
        sleep_.tokens = learned;
        if (s == TTT_OK) {
            sleep_.state = "done";
            sleep_progress_ = 1;
            sleep_.message = "learned " + std::to_string(learned) + " tokens" + (autosave.empty() ? "" : "; soul saved to " + autosave);
        } else if (s == TTT_ERR_ABORTED) {
            sleep_.state = "woken";
            sleep_.message = "woken early; the soul keeps the " + std::to_string(learned) + " tokens learned";
        } else {
            sleep_.state = "failed";
            sleep_.message = error;
        }
        c->busy = false;
        c->busy_with.clear();
    });
}

void Lab::wake() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!sleep_.running) throw HttpError(409, "not_sleeping", "the model is not asleep");
    if (auto c = find_locked(sleep_.character)) c->stop_requested = true;
}

std::string Lab::sleep_json() {
    std::lock_guard<std::mutex> lock(mu_);
    return JsonOut()
        .boolean("running", sleep_.running)
        .integer("character", sleep_.character)
        .str("state", sleep_.state)
        .num("progress", sleep_progress_.load())
        .integer("tokens", static_cast<long long>(sleep_.tokens))
        .str("message", sleep_.message)
        .done();
}

}  // namespace studio
