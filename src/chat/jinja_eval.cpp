#include "chat/jinja_eval.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <unordered_map>

#include "chat/jinja_filters.h"
#include "common/error.h"

namespace ttt::chat {

namespace {

using Scope = std::unordered_map<std::string, Value>;

enum class Flow { Normal, Break, Continue };

class Evaluator : public Host {
public:
    Evaluator(const ParsedTemplate& t, const RenderLimits& limits) : t_(t), limits_(limits) {}

    std::string run(const Object& variables) {
        scopes_.emplace_back();
        install_globals(scopes_.back());
        scopes_.emplace_back();
        for (const auto& kv : variables) scopes_.back()[kv.first] = kv.second;
        std::string out;
        Flow flow = exec(t_.body, out);
        (void)flow;  // a break outside a loop ends the template early, as nothing encloses it
        return out;
    }

    // --- Host (used by filters and methods) ---
    Error error(const std::string& why) override {
        return Error(TTT_ERR_FORMAT, "chat template, " + describe_position(t_.source, pos_) + ": " + why);
    }
    void check_size(size_t bytes) override {
        if (bytes > limits_.max_output_bytes)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "chat template, " + describe_position(t_.source, pos_) +
                                                      ": a string would exceed the limit of " +
                                                      std::to_string(limits_.max_output_bytes) + " bytes");
    }
    void step() override { charge(1); }
    void charge(uint64_t units) override {
        steps_ += units;
        if (steps_ > limits_.max_steps)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "chat template, " + describe_position(t_.source, pos_) +
                                                      ": more than " + std::to_string(limits_.max_steps) +
                                                      " loop iterations and macro calls (or as much other work)");
    }
    Value call(const Value& f, Args& args) override {
        if (f.kind != Value::Kind::Function) fail(std::string("'") + type_name(f) + "' object is not callable");
        return (*f.fn)(args);
    }
    bool test(const std::string& name, const Value& v, Args& args) override { return apply_test(*this, name, v, args); }

private:
    [[noreturn]] void fail_at(size_t pos, const std::string& why) {
        throw Error(TTT_ERR_FORMAT, "chat template, " + describe_position(t_.source, pos) + ": " + why);
    }

    void install_globals(Scope& g) {
        g["raise_exception"] = Value::function([](Args& a) -> Value {
            const Value* m = a.get(0, "message");
            throw Error(TTT_ERR_INVALID_ARGUMENT, "the chat template refused the conversation: " + (m ? to_str(*m) : std::string()));
        });
        g["namespace"] = Value::function([this](Args& a) {
            for (const auto& kv : a.named) {
                check_namespace_name(kv.first);
                store_check(kv.second, kv.first);
            }
            Value ns = Value::object();
            ns.is_namespace = true;
            if (!a.positional.empty() && a.positional[0].is_object())
                for (const auto& kv : *a.positional[0].obj) {
                    check_namespace_name(kv.first);
                    store_check(kv.second, kv.first);
                    ns.obj->push_back(kv);
                }
            for (auto& kv : a.named) {
                if (Value* old = ns.find_mut(kv.first)) *old = kv.second;
                else ns.obj->push_back(kv);
            }
            return ns;
        });
        g["dict"] = Value::function([](Args& a) {
            Value d = Value::object();
            for (auto& kv : a.named) d.obj->push_back(kv);
            return d;
        });
        g["range"] = Value::function([this](Args& a) {
            int64_t start = 0, stop = 0, stepv = 1;
            const auto num = [&](size_t k) {
                if (a.positional[k].kind != Value::Kind::Int) fail("range() takes integers");
                return a.positional[k].i;
            };
            if (a.positional.size() == 1) stop = num(0);
            else if (a.positional.size() == 2 || a.positional.size() == 3) {
                start = num(0);
                stop = num(1);
                if (a.positional.size() == 3) stepv = num(2);
            } else fail("range() takes 1 to 3 arguments");
            if (stepv == 0) fail("range() step must not be zero");
            Array out;
            for (int64_t v = start; stepv > 0 ? v < stop : v > stop; v += stepv) {
                step();
                out.push_back(Value::integer(v));
            }
            return Value::array(std::move(out));
        });
        g["strftime_now"] = Value::function([this](Args& a) {
            const Value* f = a.get(0, "format");
            if (!f || !f->is_string()) fail("strftime_now() takes a format string");
            const std::time_t now = std::time(nullptr);
            std::tm tm{};
#ifdef _WIN32
            localtime_s(&tm, &now);
#else
            localtime_r(&now, &tm);
#endif
            char buf[256];
            const size_t n = std::strftime(buf, sizeof buf, f->s.c_str(), &tm);
            return Value::string(std::string(buf, n));
        });
    }

    // transformers refuses underscore names on a namespace (they could reach Python internals there).
    void check_namespace_name(const std::string& name) {
        if (!name.empty() && name[0] == '_')
            fail("chat templates cannot store underscore-prefixed attributes on a namespace, but got '" + name + "'");
    }

    void store_check(const Value& v, const std::string& name) {
        try {
            check_storable_in_namespace(v, name);
        } catch (const Error& e) {
            fail(e.what());
        }
    }

    // --- scopes ---

    Value lookup(const std::string& name) {
        for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
            auto f = it->find(name);
            if (f != it->end()) return f->second;
        }
        return Value::undefined(name);
    }

    void assign(const std::string& target, Value v, size_t pos) {
        const size_t dot = target.find('.');
        if (dot == std::string::npos) {
            scopes_.back()[target] = std::move(v);
            return;
        }
        Value ns = lookup(target.substr(0, dot));
        if (!ns.is_object() || !ns.is_namespace)
            fail_at(pos, "can only set attributes of a namespace() ('" + target.substr(0, dot) + "' is " +
                             (ns.is_undefined() ? std::string("undefined") : std::string("a ") + type_name(ns)) + ")");
        const std::string attr = target.substr(dot + 1);
        check_namespace_name(attr);
        store_check(v, attr);
        if (Value* old = ns.find_mut(attr)) *old = std::move(v);
        else ns.obj->emplace_back(attr, std::move(v));
    }

    void assign_all(const std::vector<std::string>& targets, const Value& v, size_t pos) {
        if (targets.size() == 1) {
            assign(targets[0], v, pos);
            return;
        }
        Array items = iterate(v, pos);
        if (items.size() != targets.size())
            fail_at(pos, "cannot unpack " + std::to_string(items.size()) + " values into " + std::to_string(targets.size()) + " names");
        for (size_t k = 0; k < targets.size(); ++k) assign(targets[k], items[k], pos);
    }

    // --- statements ---

    void emit(std::string& out, const std::string& text) {
        if (out.size() + text.size() > limits_.max_output_bytes)
            throw Error(TTT_ERR_INVALID_ARGUMENT, "chat template, " + describe_position(t_.source, pos_) +
                                                      ": the output would exceed the limit of " +
                                                      std::to_string(limits_.max_output_bytes) + " bytes");
        out += text;
        charge(text.size() >> 10);
    }

    Flow exec(const Body& body, std::string& out) {
        for (const auto& n : body) {
            Flow f = exec(*n, out);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

    Flow exec(const Node& n, std::string& out) {
        pos_ = n.pos;
        switch (n.kind) {
            case Node::Kind::Text: emit(out, n.text); return Flow::Normal;
            case Node::Kind::Output: {
                Value v = eval(*n.expr);
                pos_ = n.pos;
                charge_size(v);
                std::string text;
                try {
                    text = to_str(v, limits_.max_output_bytes);
                } catch (const Error& e) {
                    throw Error(e.status(), "chat template, " + describe_position(t_.source, n.pos) + ": " + e.what());
                }
                emit(out, text);
                return Flow::Normal;
            }
            case Node::Kind::If:
                for (size_t k = 0; k < n.bodies.size(); ++k) {
                    if (k < n.conditions.size() && !eval(*n.conditions[k]).truthy()) continue;
                    return exec(n.bodies[k], out);
                }
                return Flow::Normal;
            case Node::Kind::For: return exec_for(n, out);
            case Node::Kind::Set: assign_all(n.targets, eval(*n.expr), n.pos); return Flow::Normal;
            case Node::Kind::SetBlock: {
                std::string captured;
                Flow f = exec(n.bodies[0], captured);
                assign(n.targets[0], Value::string(std::move(captured)), n.pos);
                return f;
            }
            case Node::Kind::Macro: define_macro(n); return Flow::Normal;
            case Node::Kind::Break: return Flow::Break;
            case Node::Kind::Continue: return Flow::Continue;
            case Node::Kind::Block: return exec(n.bodies[0], out);
        }
        return Flow::Normal;
    }

    Flow exec_for(const Node& n, std::string& out) {
        Value seq = eval(*n.expr);
        Array items = iterate(seq, n.expr->pos);
        if (n.condition) {  // the loop's filter runs first: loop.length counts what remains
            Array kept;
            for (const auto& it : items) {
                step();
                scopes_.emplace_back();
                assign_all(n.targets, it, n.pos);
                const bool keep = eval(*n.condition).truthy();
                scopes_.pop_back();
                if (keep) kept.push_back(it);
            }
            items = std::move(kept);
        }
        if (items.empty()) {
            if (n.bodies.size() > 1) return exec(n.bodies[1], out);
            return Flow::Normal;
        }
        const int64_t len = static_cast<int64_t>(items.size());
        for (int64_t k = 0; k < len; ++k) {
            pos_ = n.pos;
            step();
            Object loop{{"index0", Value::integer(k)},
                        {"index", Value::integer(k + 1)},
                        {"revindex0", Value::integer(len - k - 1)},
                        {"revindex", Value::integer(len - k)},
                        {"first", Value::boolean(k == 0)},
                        {"last", Value::boolean(k == len - 1)},
                        {"length", Value::integer(len)},
                        {"previtem", k > 0 ? items[static_cast<size_t>(k - 1)] : Value::undefined("previtem")},
                        {"nextitem", k + 1 < len ? items[static_cast<size_t>(k + 1)] : Value::undefined("nextitem")}};
            scopes_.emplace_back();
            scopes_.back()["loop"] = Value::object(std::move(loop));
            assign_all(n.targets, items[static_cast<size_t>(k)], n.pos);
            Flow f = exec(n.bodies[0], out);
            scopes_.pop_back();
            if (f == Flow::Break) break;
        }
        return Flow::Normal;
    }

    void define_macro(const Node& n) {
        const Node* node = &n;
        scopes_.back()[n.text] = Value::function([this, node](Args& a) -> Value {
            step();
            if (++call_depth_ > limits_.max_call_depth)
                throw Error(TTT_ERR_INVALID_ARGUMENT, "chat template, " + describe_position(t_.source, node->pos) +
                                                          ": macros call each other more than " +
                                                          std::to_string(limits_.max_call_depth) + " levels deep");
            Scope frame;
            for (size_t k = 0; k < node->targets.size(); ++k) {
                const Value* v = a.get(k, node->targets[k]);
                if (v) frame[node->targets[k]] = *v;
                else if (node->defaults[k]) frame[node->targets[k]] = eval(*node->defaults[k]);
                else frame[node->targets[k]] = Value::undefined(node->targets[k]);
            }
            if (a.positional.size() > node->targets.size())
                fail_at(node->pos, "macro '" + node->text + "' takes " + std::to_string(node->targets.size()) + " arguments");
            // A macro sees the template's globals and its own arguments (not the caller's loop variables).
            std::vector<Scope> saved(scopes_.begin() + 2, scopes_.end());
            scopes_.resize(2);
            scopes_.push_back(std::move(frame));
            std::string out;
            try {
                exec(node->bodies[0], out);
            } catch (...) {
                scopes_.resize(2);
                scopes_.insert(scopes_.end(), saved.begin(), saved.end());
                --call_depth_;
                throw;
            }
            scopes_.resize(2);
            scopes_.insert(scopes_.end(), saved.begin(), saved.end());
            --call_depth_;
            return Value::string(std::move(out));
        });
    }

    // --- expressions ---

    Array iterate(const Value& v, size_t pos) {
        pos_ = pos;  // a refusal points at the loop's expression
        return to_list(*this, v);
    }

    Value eval(const Expr& e) {
        try {
            return eval_unpositioned(e);
        } catch (const Error& err) {
            // Value-level refusals (nesting, printing size) get the template position like every other error.
            const std::string what = err.what();
            if (what.rfind("chat template", 0) == 0 || what.rfind("the chat template", 0) == 0) throw;
            throw Error(err.status(), "chat template, " + describe_position(t_.source, e.pos) + ": " + what);
        }
    }

    Value eval_unpositioned(const Expr& e) {
        pos_ = e.pos;
        switch (e.kind) {
            case Expr::Kind::Literal: return e.value;
            case Expr::Kind::Name: return lookup(e.name);
            case Expr::Kind::List:
            case Expr::Kind::Tuple: {
                Array a;
                for (const auto& it : e.items) a.push_back(eval(*it));
                return e.kind == Expr::Kind::Tuple ? Value::tuple(std::move(a)) : Value::array(std::move(a));
            }
            case Expr::Kind::Dict: {
                Value d = Value::object();
                for (size_t k = 0; k + 1 < e.items.size(); k += 2) {
                    Value key = eval(*e.items[k]);
                    if (!key.is_string()) fail_at(e.items[k]->pos, "dictionary keys must be strings here");
                    Value val = eval(*e.items[k + 1]);
                    if (Value* old = d.find_mut(key.s)) *old = std::move(val);
                    else d.obj->emplace_back(key.s, std::move(val));
                }
                return d;
            }
            case Expr::Kind::Attr: {
                Value target = eval(*e.items[0]);
                pos_ = e.pos;
                return get_attribute(*this, target, e.name, false);
            }
            case Expr::Kind::Item: {
                Value target = eval(*e.items[0]);
                Value key = eval(*e.items[1]);
                pos_ = e.pos;
                return get_item(*this, target, key);
            }
            case Expr::Kind::Slice: {
                Value target = eval(*e.items[0]);
                Value parts[3];
                for (int k = 0; k < 3; ++k) parts[k] = e.items[static_cast<size_t>(k) + 1] ? eval(*e.items[static_cast<size_t>(k) + 1]) : Value::none();
                pos_ = e.pos;
                return slice(*this, target, parts[0], parts[1], parts[2]);
            }
            case Expr::Kind::Call: {
                Value f = eval(*e.items[0]);
                Args args = eval_args(e);
                pos_ = e.pos;
                if (f.is_undefined()) fail("'" + (f.s.empty() ? std::string("the callee") : f.s) + "' is undefined");
                return call(f, args);
            }
            case Expr::Kind::Filter: {
                Value v = eval(*e.items[0]);
                Args args = eval_args(e);
                pos_ = e.pos;
                return apply_filter(*this, e.name, v, args);
            }
            case Expr::Kind::Test: {
                Value v = eval(*e.items[0]);
                Args args = eval_args(e);
                pos_ = e.pos;
                return Value::boolean(apply_test(*this, e.name, v, args) != e.negated);
            }
            case Expr::Kind::Unary: {
                Value v = eval(*e.items[0]);
                pos_ = e.pos;
                if (e.name == "not") return Value::boolean(!v.truthy());
                if (v.kind == Value::Kind::Int) return Value::integer(e.name == "-" ? -v.i : v.i);
                if (v.kind == Value::Kind::Float) return Value::number(e.name == "-" ? -v.f : v.f);
                if (v.kind == Value::Kind::Bool) return Value::integer(e.name == "-" ? -int64_t{v.b} : int64_t{v.b});
                fail(std::string("bad operand type for unary ") + e.name + ": '" + type_name(v) + "'");
            }
            case Expr::Kind::Binary: return eval_binary(e);
            case Expr::Kind::Conditional:
                if (eval(*e.items[0]).truthy()) return eval(*e.items[1]);
                return e.items[2] ? eval(*e.items[2]) : Value::undefined();
        }
        return Value::undefined();
    }

    Args eval_args(const Expr& e) {
        Args a;
        for (size_t k = 1; k < e.items.size(); ++k) {
            Value v = eval(*e.items[k]);
            const std::string& name = e.names[k - 1];
            if (name.empty()) a.positional.push_back(std::move(v));
            else a.named.emplace_back(name, std::move(v));
        }
        return a;
    }

    Value eval_binary(const Expr& e) {
        const std::string& op = e.name;
        if (op == "and") {
            Value a = eval(*e.items[0]);
            return a.truthy() ? eval(*e.items[1]) : a;
        }
        if (op == "or") {
            Value a = eval(*e.items[0]);
            return a.truthy() ? a : eval(*e.items[1]);
        }
        Value a = eval(*e.items[0]);
        Value b = eval(*e.items[1]);
        pos_ = e.pos;
        return binary_op(*this, op, a, b);
    }

    const ParsedTemplate& t_;
    RenderLimits limits_;
    std::vector<Scope> scopes_;
    size_t pos_ = 0;
    uint64_t steps_ = 0;
    int call_depth_ = 0;
};

}  // namespace

std::string render(const ParsedTemplate& t, const Object& variables, const RenderLimits& limits) {
    Evaluator ev(t, limits);
    return ev.run(variables);
}

}  // namespace ttt::chat
