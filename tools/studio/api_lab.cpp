// Model Lab routes: folders, model load/unload/convert, characters, souls, persona, memories, sleep.
#include <httplib.h>

#include <cctype>
#include <climits>
#include <cstdlib>

#include "abi_error.h"
#include "http_error.h"
#include "load/bitt_model.h"
#include "io/file.h"
#include "load/model_files.h"
#include "memory/memories.h"
#include "json_body.h"
#include "studio.h"

namespace studio {

namespace {

int character_id(const JsonBody& b) {
    if (!b.has("character")) throw bad_request("character: required");
    return static_cast<int>(b.int_or("character", 0, 1, INT_MAX));
}

std::string query(const httplib::Request& req, const char* key, size_t max_len = 4096) {
    std::string v = req.get_param_value(key);
    if (v.size() > max_len) throw bad_request(std::string(key) + ": too long");
    return v;
}

bool is_day(const std::string& day) {
    if (day.size() != 10 || day[4] != '-' || day[7] != '-') return false;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (!std::isdigit(static_cast<unsigned char>(day[i]))) return false;
    return true;
}

// The days of a memories folder, newest first, read by the library's reader (the one sleep replays from), so the
// page counts and skips lines exactly as sleep does.
std::string memory_days_json(const std::vector<ttt::MemoryDay>& days) {
    std::vector<std::string> out;
    for (auto it = days.rbegin(); it != days.rend(); ++it)
        out.push_back(JsonOut().str("day", it->date).integer("entries", static_cast<long long>(it->turns.size()))
                          .integer("skipped_lines", static_cast<long long>(it->skipped_lines)).done());
    return json_array(out);
}

// The last `limit` turns of one day.
std::string memory_day_json(const ttt::MemoryDay& day, size_t limit) {
    std::vector<std::string> turns;
    const size_t first = day.turns.size() > limit ? day.turns.size() - limit : 0;
    for (size_t i = first; i < day.turns.size(); ++i) {
        const ttt::MemoryTurn& t = day.turns[i];
        turns.push_back(JsonOut().str("role", t.role).str("text", t.text).str("timestamp", t.timestamp).done());
    }
    return JsonOut().str("day", day.date).raw("entries", json_array(turns))
        .integer("skipped_lines", static_cast<long long>(day.skipped_lines)).done();
}

std::string files_json(const Folders& folders, const std::string& canonical_dir) {
    std::vector<std::string> items;
    for (const DirEntry& e : folders.list(canonical_dir)) {
        const std::string full = canonical_dir + (canonical_dir == "/" ? "" : "/") + e.name;
        items.push_back(JsonOut().str("name", e.name).str("path", folders.display(full)).boolean("is_dir", e.is_dir)
                            .integer("size", static_cast<long long>(e.size)).done());
    }
    JsonOut o;
    o.str("path", folders.display(canonical_dir)).str("absolute", canonical_dir);
    bool is_root = false;
    for (const std::string& r : folders.roots()) is_root = is_root || r == canonical_dir;
    if (is_root) o.null("parent");
    else o.str("parent", folders.display(canonical_dir.substr(0, std::max<size_t>(1, canonical_dir.find_last_of('/')))));
    std::vector<std::string> roots;
    for (const std::string& r : folders.roots()) roots.push_back(json_string(r));
    return o.raw("roots", json_array(roots)).raw("entries", json_array(items)).done();
}

std::string safe_folder_name(const std::string& name) {
    std::string s;
    for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return s.empty() ? "character" : s;
}

// The server: its version, threads, folder roots and what the lab and training are doing; a folder's files.
void add_status_routes(httplib::Server& server, Studio& st) {
    server.Get("/api/status", [&st](const httplib::Request&, httplib::Response& res) {
        handle(res, [&] {
            std::vector<std::string> roots;
            for (const std::string& r : st.folders.roots()) roots.push_back(json_string(r));
            send_json(res, JsonOut()
                               .str("version", ttt_version_string())
                               .integer("threads", st.threads)
                               .raw("roots", json_array(roots))
                               .raw("lab", st.lab.status_json())
                               .raw("training", st.jobs.status_json(SIZE_MAX))
                               .done());
        });
    });

    server.Get("/api/files", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            std::string path = query(req, "path");
            send_json(res, files_json(st.folders, st.folders.existing(path.empty() ? "." : path)));
        });
    });
}

// The model: load (with a first character), unload, convert.
void add_model_routes(httplib::Server& server, Studio& st) {
    server.Post("/api/model/load", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const std::string path = st.folders.existing(b.str("path"));
            // A new model starts with one character (the old ones' souls belonged to the old model).
            const std::string name = b.str_or("character", "Assistant", 64);
            if (name.empty()) throw bad_request("character: must not be empty");
            const std::string memories = st.folders.make_folder(b.str_or("memories", "memories"));
            std::string model = st.lab.load_model(path);
            std::string c = st.lab.create_character(name, memories);
            send_json(res, JsonOut().raw("model", model).raw("character", c).done());
        });
    });

    server.Post("/api/model/unload", [&st](const httplib::Request&, httplib::Response& res) {
        handle(res, [&] {
            st.lab.unload_model();
            send_json(res, "{\"ok\":true}");
        });
    });

    server.Post("/api/model/convert", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const std::string in = st.folders.existing(b.str("input"));
            const std::string out_text = b.str("output");
            // The same as `bit-ttt convert`: .bitt v2 when OUT ends in .bitt, else a model directory.
            ttt::LoadedModel m = ttt::load_model_path(in, ttt::LoadOptions{});
            const bool to_bitt = out_text.size() >= 5 && out_text.compare(out_text.size() - 5, 5, ".bitt") == 0;
            std::string out;
            if (to_bitt) {
                out = st.folders.writable(out_text);
                ttt::save_model_bitt(out, m.weights, m.tokenizer_json);
            } else {
                out = st.folders.make_folder(out_text);
                ttt::write_model_directory(out, m.weights, m.tokenizer_json);
            }
            send_json(res, JsonOut().str("output", st.folders.display(out)).done());
        });
    });
}

// Characters: create, delete.
void add_character_routes(httplib::Server& server, Studio& st) {
    server.Post("/api/characters", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const std::string name = b.str("name", 64);
            if (name.empty()) throw bad_request("name: must not be empty");
            std::string mem;
            if (b.has("memories")) {
                mem = st.folders.make_folder(b.str("memories"));
            } else {
                st.folders.make_folder("memories");
                mem = st.folders.make_folder("memories/" + safe_folder_name(name));
            }
            send_json(res, st.lab.create_character(name, mem));
        });
    });

    server.Post("/api/characters/delete", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            st.lab.delete_character(character_id(JsonBody(req.body)));
            send_json(res, "{\"ok\":true}");
        });
    });
}

// A character's soul: reset, save, load, and learning a persona into it.
void add_soul_routes(httplib::Server& server, Studio& st) {
    server.Post("/api/soul/reset", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            auto c = st.lab.acquire(character_id(b), "resetting its soul");
            ttt_status s = ttt_reset((*c)->ctx);
            if (s != TTT_OK) throw abi_error(s, "reset");
            (*c)->conversation.reset();  // the model has read nothing of it now
            if (b.bool_or("new", false)) st.lab.set_soul_path(**c, "");  // a new soul has no file yet
            send_json(res, st.lab.soul_json(**c));
        });
    });

    server.Post("/api/soul/save", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            auto c = st.lab.acquire(character_id(b), "saving its soul");
            // Only holders of the lease write soul_path, so reading it here needs no lock.
            std::string target = b.str_or("path", (*c)->soul_path);
            if (target.empty()) throw bad_request("path: required (this character has no soul file yet: use Save as)");
            const std::string path = st.folders.writable(target);
            ttt_status s = ttt_save_soul((*c)->ctx, path.c_str());
            if (s != TTT_OK) throw abi_error(s, "cannot save the soul");
            st.lab.set_soul_path(**c, path);
            send_json(res, st.lab.soul_json(**c));
        });
    });

    server.Post("/api/soul/load", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            auto c = st.lab.acquire(character_id(b), "loading a soul");
            const std::string path = st.folders.existing(b.str("path"));
            ttt_status s = ttt_load_soul((*c)->ctx, path.c_str(), b.bool_or("force", false) ? TTT_SOUL_FORCE : 0u);
            if (s != TTT_OK) throw abi_error(s, "the soul was not loaded (the character keeps its soul)");
            (*c)->conversation.reset();  // the loaded soul's conversation is not ours: the next turn starts afresh
            st.lab.set_soul_path(**c, path);
            send_json(res, st.lab.soul_json(**c));
        });
    });

    server.Post("/api/persona", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            const std::string text = b.str("text", 64 * 1024);
            auto c = st.lab.acquire(character_id(b), "learning a persona");
            size_t n = 0;
            ttt_status s = ttt_learn((*c)->ctx, text.data(), text.size(), 0, &n);
            if (s != TTT_OK && s != TTT_ERR_ABORTED) throw abi_error(s, "the persona was not learned");
            send_json(res, JsonOut().integer("tokens", static_cast<long long>(n)).boolean("stopped", s == TTT_ERR_ABORTED)
                               .raw("character", st.lab.soul_json(**c)).done());
        });
    });
}

// A character's memories, and sleep (replaying them into the soul): start, wake, progress.
void add_memory_routes(httplib::Server& server, Studio& st) {
    server.Get("/api/memories", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            const std::string dir = st.lab.memories_dir(std::atoi(query(req, "character", 10).c_str()));
            const std::string day = query(req, "day", 10);
            if (!day.empty() && !is_day(day)) throw bad_request("day: expected YYYY-MM-DD");
            const std::vector<ttt::MemoryDay> days = ttt::read_memories(dir);
            if (day.empty())
                return send_json(res, JsonOut().str("folder", st.folders.display(dir)).raw("days", memory_days_json(days)).done());
            for (const ttt::MemoryDay& d : days)
                if (d.date == day) return send_json(res, memory_day_json(d, 500));
            throw not_found("no memories on " + day);
        });
    });

    server.Post("/api/sleep", [&st](const httplib::Request& req, httplib::Response& res) {
        handle(res, [&] {
            JsonBody b(req.body);
            SleepRequest r;
            r.character = character_id(b);
            r.max_days = static_cast<int>(b.int_or("max_days", 5, 0, 3650));
            r.autosave = b.bool_or("autosave", true);
            st.lab.start_sleep(r);
            send_json(res, st.lab.sleep_json());
        });
    });

    server.Post("/api/wake", [&st](const httplib::Request&, httplib::Response& res) {
        handle(res, [&] {
            st.lab.wake();
            send_json(res, st.lab.sleep_json());
        });
    });

    server.Get("/api/sleep", [&st](const httplib::Request&, httplib::Response& res) {
        handle(res, [&] { send_json(res, st.lab.sleep_json()); });
    });
}

}  // namespace

void add_lab_routes(httplib::Server& server, Studio& st) {
    add_status_routes(server, st);
    add_model_routes(server, st);
    add_character_routes(server, st);
    add_soul_routes(server, st);
    add_memory_routes(server, st);
}

}  // namespace studio
