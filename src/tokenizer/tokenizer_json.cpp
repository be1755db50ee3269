// tokenizer.json -> Tokenizer::Impl. Every field is checked before use; a malformed file gives TTT_ERR_FORMAT
// naming the field and the reason, a well-formed file using a component we do not implement gives
// TTT_ERR_UNSUPPORTED naming the component (never silently different ids).
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>

#include "common/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace ttt {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Ids index tables, so a huge id in a corrupted file must not become a huge allocation.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

[[noreturn]] void bad(const std::string& where, const std::string& why) {
    fail_format("tokenizer.json: " + where + ": " + why);
}
[[noreturn]] void unsupported(const std::string& where, const std::string& why) {
    fail_unsupported("tokenizer.json: " + where + ": " + why);
}

std::string quote(std::string_view s) {
    std::string q = "\"";
    for (char c : s.substr(0, 80)) {
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
            q += buf;
        } else {
            q.push_back(c);
        }
    }
    if (s.size() > 80) q += "...";
    return q + "\"";
}

// --- typed access with messages -----------------------------------------------------------------------------

object as_object(element e, const std::string& where) {
    object o;
    if (e.get_object().get(o)) bad(where, "expected an object");
    return o;
}
array as_array(element e, const std::string& where) {
    array a;
    if (e.get_array().get(a)) bad(where, "expected an array");
    return a;
}
std::string_view as_string(element e, const std::string& where) {
    std::string_view s;
    if (e.get_string().get(s)) bad(where, "expected a string");
    return s;
}
bool as_bool(element e, const std::string& where) {
    bool b;
    if (e.get_bool().get(b)) bad(where, "expected true or false");
    return b;
}
int64_t as_int(element e, const std::string& where) {
    int64_t v;
    if (e.is_int64()) {
        if (!e.get_int64().get(v)) return v;
    }
    if (e.is_uint64()) bad(where, "integer out of range");
    bad(where, "expected an integer");
}
int32_t as_token_id(element e, const std::string& where) {
    int64_t v = as_int(e, where);
    if (v < 0 || v > kMaxTokenId) bad(where, "token id " + std::to_string(v) + " out of range [0, 2^24)");
    return static_cast<int32_t>(v);
}

// A field, or nothing when absent or null.
bool field(object o, const char* key, element* out) {
    element e;
    if (o.at_key(key).get(e)) return false;
    if (e.is_null()) return false;
    *out = e;
    return true;
}
bool opt_bool(object o, const char* key, bool dflt, const std::string& where) {
    element e;
    return field(o, key, &e) ? as_bool(e, where + "." + key) : dflt;
}
std::string opt_string(object o, const char* key, const std::string& dflt, const std::string& where) {
    element e;
    return field(o, key, &e) ? std::string(as_string(e, where + "." + key)) : dflt;
}
std::string type_of(object o, const std::string& where) {
    element e;
    if (!field(o, "type", &e)) bad(where, "missing field \"type\"");
    return std::string(as_string(e, where + ".type"));
}
// A one-character string (Metaspace replacement, Strip content).
std::string one_char(std::string_view s, const std::string& where) {
    if (s.empty() || unicode::decode(s.data(), s.size(), 0).len != s.size()) {
        bad(where, "expected exactly one character, got " + quote(s));
    }
    return std::string(s);
}
// HF's Pattern: {"String": s} (supported) or {"Regex": r} (not here).
std::string string_pattern(element e, const std::string& where) {
    object o = as_object(e, where);
    element v;
    if (field(o, "String", &v)) return std::string(as_string(v, where + ".String"));
    if (field(o, "Regex", &v)) {
        unsupported(where, "regex pattern " + quote(as_string(v, where + ".Regex")) + " is not supported");
    }
    bad(where, "expected {\"String\": ...} or {\"Regex\": ...}");
}
PrependScheme prepend_scheme(object o, const std::string& where) {
    element e;
    if (field(o, "prepend_scheme", &e)) {
        std::string_view s = as_string(e, where + ".prepend_scheme");
        if (s == "always") return PrependScheme::Always;
        if (s == "first") return PrependScheme::First;
        if (s == "never") return PrependScheme::Never;
        bad(where + ".prepend_scheme", "expected \"always\", \"first\" or \"never\", got " + quote(s));
    }
    // Files written before prepend_scheme existed carry add_prefix_space instead.
    return opt_bool(o, "add_prefix_space", true, where) ? PrependScheme::Always : PrependScheme::Never;
}

// --- components ---------------------------------------------------------------------------------------------

void parse_normalizer(element e, const std::string& where, Normalizer& out) {
    object o = as_object(e, where);
    std::string type = type_of(o, where);
    if (type == "Sequence") {
        element list;
        if (!field(o, "normalizers", &list)) bad(where, "missing field \"normalizers\"");
        size_t k = 0;
        for (element child : as_array(list, where + ".normalizers")) {
            parse_normalizer(child, where + ".normalizers[" + std::to_string(k++) + "]", out);
        }
    } else if (type == "Prepend") {
        Normalizer::Step st;
        st.kind = Normalizer::Step::Kind::Prepend;
        st.a = opt_string(o, "prepend", "", where);
        out.add(st);
    } else if (type == "Replace") {
        element pat;
        if (!field(o, "pattern", &pat)) bad(where, "missing field \"pattern\"");
        std::string from = string_pattern(pat, where + ".pattern");
        if (from.empty()) bad(where + ".pattern", "empty pattern");
        Normalizer::Step st;
        st.kind = Normalizer::Step::Kind::Replace;
        st.a = from;
        st.b = opt_string(o, "content", "", where);
        out.add(st);
    } else if (type == "Strip") {
        Normalizer::Step st;
        st.kind = Normalizer::Step::Kind::Strip;
        st.left = opt_bool(o, "strip_left", true, where);
        st.right = opt_bool(o, "strip_right", true, where);
        out.add(st);
    } else {
        unsupported(where, "normalizer " + quote(type) + " is not supported (supported: Sequence, Prepend, Replace, Strip)");
    }
}

void parse_pre_tokenizer(element e, const std::string& where, PreTokenizer& out) {
    object o = as_object(e, where);
    std::string type = type_of(o, where);
    using Step = PreTokenizer::Step;
    if (type == "Sequence") {
        element list;
        if (!field(o, "pretokenizers", &list)) bad(where, "missing field \"pretokenizers\"");
        size_t k = 0;
        for (element child : as_array(list, where + ".pretokenizers")) {
            parse_pre_tokenizer(child, where + ".pretokenizers[" + std::to_string(k++) + "]", out);
        }
    } else if (type == "ByteLevel") {
        Step st;
        st.kind = Step::Kind::ByteLevel;
        st.add_prefix_space = opt_bool(o, "add_prefix_space", true, where);
        st.use_regex = opt_bool(o, "use_regex", true, where);
        out.add(st);
    } else if (type == "Split") {
        Step st;
        st.kind = Step::Kind::Split;
        element pat;
        if (!field(o, "pattern", &pat)) bad(where, "missing field \"pattern\"");
        object po = as_object(pat, where + ".pattern");
        element v;
        if (field(po, "Regex", &v)) {
            std::string_view re = as_string(v, where + ".pattern.Regex");
            if (!split::pattern_from_regex(re, &st.pattern)) {
                unsupported(where + ".pattern", "split regex " + quote(re) +
                                                    " is not supported (supported: the GPT-2, Llama-3 and Qwen2 patterns)");
            }
            st.is_regex = true;
        } else {
            st.literal = string_pattern(pat, where + ".pattern");
        }
        std::string behavior = opt_string(o, "behavior", "Isolated", where);
        if (behavior == "Removed") st.behavior = SplitBehavior::Removed;
        else if (behavior == "Isolated") st.behavior = SplitBehavior::Isolated;
        else if (behavior == "MergedWithPrevious") st.behavior = SplitBehavior::MergedWithPrevious;
        else if (behavior == "MergedWithNext") st.behavior = SplitBehavior::MergedWithNext;
        else if (behavior == "Contiguous") st.behavior = SplitBehavior::Contiguous;
        else bad(where + ".behavior", "unknown split behavior " + quote(behavior));
        st.invert = opt_bool(o, "invert", false, where);
        out.add(st);
    } else if (type == "Metaspace") {
        Step st;
        st.kind = Step::Kind::Metaspace;
        st.replacement = one_char(opt_string(o, "replacement", "\xE2\x96\x81", where), where + ".replacement");
        st.prepend_scheme = prepend_scheme(o, where);
        st.split = opt_bool(o, "split", true, where);
        out.add(st);
    } else {
        unsupported(where, "pre_tokenizer " + quote(type) +
                               " is not supported (supported: Sequence, ByteLevel, Split, Metaspace)");
    }
}

Decoder::Step decoder_step(Decoder::Step::Kind kind) {
    Decoder::Step st;
    st.kind = kind;
    return st;
}

void parse_decoder(element e, const std::string& where, Decoder& out) {
    object o = as_object(e, where);
    std::string type = type_of(o, where);
    using Step = Decoder::Step;
    if (type == "Sequence") {
        element list;
        if (!field(o, "decoders", &list)) bad(where, "missing field \"decoders\"");
        size_t k = 0;
        for (element child : as_array(list, where + ".decoders")) {
            parse_decoder(child, where + ".decoders[" + std::to_string(k++) + "]", out);
        }
    } else if (type == "ByteLevel") {
        out.add(decoder_step(Step::Kind::ByteLevel));
    } else if (type == "ByteFallback") {
        out.add(decoder_step(Step::Kind::ByteFallback));
    } else if (type == "Fuse") {
        out.add(decoder_step(Step::Kind::Fuse));
    } else if (type == "Replace") {
        element pat;
        if (!field(o, "pattern", &pat)) bad(where, "missing field \"pattern\"");
        Step st;
        st.kind = Step::Kind::Replace;
        st.a = string_pattern(pat, where + ".pattern");
        st.b = opt_string(o, "content", "", where);
        out.add(st);
    } else if (type == "Strip") {
        Step st;
        st.kind = Step::Kind::Strip;
        st.a = one_char(opt_string(o, "content", " ", where), where + ".content");
        element v;
        int64_t start = field(o, "start", &v) ? as_int(v, where + ".start") : 0;
        int64_t stop = field(o, "stop", &v) ? as_int(v, where + ".stop") : 0;
        if (start < 0 || stop < 0) bad(where, "start and stop must not be negative");
        st.start = static_cast<size_t>(start);
        st.stop = static_cast<size_t>(stop);
        out.add(st);
    } else if (type == "Metaspace") {
        Step st;
        st.kind = Step::Kind::Metaspace;
        st.a = one_char(opt_string(o, "replacement", "\xE2\x96\x81", where), where + ".replacement");
        st.prepend_scheme = prepend_scheme(o, where);
        out.add(st);
    } else {
        unsupported(where, "decoder " + quote(type) +
                               " is not supported (supported: Sequence, ByteLevel, ByteFallback, Fuse, Replace, Strip, Metaspace)");
    }
}

// The id a post-processor names for a special token string.
int32_t special_id(const Tokenizer::Impl& t, std::string_view token, const std::string& where) {
    int32_t id = t.added_ids.find(token);
    if (id < 0 && t.model) id = t.model->token_id(token);
    if (id < 0) bad(where, "token " + quote(token) + " is not in the vocab");
    return id;
}

PostProcessor::Template parse_template(element single, object specials, bool have_specials,
                                       const std::string& where) {
    PostProcessor::Template tmpl;
    auto add_special = [&](std::string_view name, const std::string& w) {
        PostProcessor::Item item;
        element sp;
        if (!have_specials || specials.at_key(name).get(sp)) {
            bad(w, "special token " + quote(name) + " is not listed in special_tokens");
        }
        object so = as_object(sp, where + ".special_tokens[" + quote(name) + "]");
        element ids;
        if (!field(so, "ids", &ids)) bad(where + ".special_tokens[" + quote(name) + "]", "missing field \"ids\"");
        size_t k = 0;
        for (element id : as_array(ids, where + ".special_tokens[" + quote(name) + "].ids")) {
            item.ids.push_back(as_token_id(id, where + ".special_tokens[" + quote(name) + "].ids[" +
                                                   std::to_string(k++) + "]"));
        }
        tmpl.push_back(std::move(item));
    };
    auto add_sequence = [&](std::string_view name, const std::string& w) {
        if (name != "A") bad(w, "sequence " + quote(name) + " in the single-sequence template (only A is allowed)");
        PostProcessor::Item item;
        item.is_sequence = true;
        tmpl.push_back(std::move(item));
    };
    if (single.is_string()) {
        // Compact form, e.g. "<s> $A </s>" or "[CLS]:0 $A:0 [SEP]:0".
        std::string_view s = as_string(single, where);
        size_t i = 0;
        while (i < s.size()) {
            while (i < s.size() && s[i] == ' ') ++i;
            size_t j = s.find(' ', i);
            if (j == std::string_view::npos) j = s.size();
            std::string_view piece = s.substr(i, j - i);
            i = j;
            if (piece.empty()) continue;
            std::string_view name = piece.substr(0, piece.rfind(':') == std::string_view::npos ? piece.size() : piece.rfind(':'));
            if (!name.empty() && name[0] == '$') {
                std::string_view seq = name.substr(1);
                add_sequence(seq.empty() || seq == "0" ? "A" : seq == "1" ? "B" : seq, where);
            } else {
                add_special(name, where);
            }
        }
    } else {
        size_t k = 0;
        for (element item : as_array(single, where)) {
            std::string w = where + "[" + std::to_string(k++) + "]";
            object io = as_object(item, w);
            element inner;
            if (field(io, "SpecialToken", &inner)) {
                element id;
                if (!field(as_object(inner, w + ".SpecialToken"), "id", &id)) bad(w + ".SpecialToken", "missing field \"id\"");
                add_special(as_string(id, w + ".SpecialToken.id"), w);
            } else if (field(io, "Sequence", &inner)) {
                element id;
                if (!field(as_object(inner, w + ".Sequence"), "id", &id)) bad(w + ".Sequence", "missing field \"id\"");
                add_sequence(as_string(id, w + ".Sequence.id"), w);
            } else {
                bad(w, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
            }
        }
    }
    return tmpl;
}

// "sep": ["</s>", 2] style pair -> id (checked against the vocab).
int32_t token_pair(object o, const char* key, const Tokenizer::Impl& t, const std::string& where) {
    element e;
    if (!field(o, key, &e)) bad(where, std::string("missing field \"") + key + "\"");
    array a = as_array(e, where + "." + key);
    if (a.size() != 2) bad(where + "." + key, "expected [token, id]");
    std::string_view tok = as_string(a.at(0).value_unsafe(), where + "." + key + "[0]");
    int32_t id = as_token_id(a.at(1).value_unsafe(), where + "." + key + "[1]");
    if (special_id(t, tok, where + "." + key) != id) bad(where + "." + key, "id does not match the vocab");
    return id;
}

void parse_post_processor(element e, const std::string& where, const Tokenizer::Impl& t, PostProcessor& out) {
    object o = as_object(e, where);
    std::string type = type_of(o, where);
    if (type == "Sequence") {
        element list;
        if (!field(o, "processors", &list)) bad(where, "missing field \"processors\"");
        size_t k = 0;
        for (element child : as_array(list, where + ".processors")) {
            parse_post_processor(child, where + ".processors[" + std::to_string(k++) + "]", t, out);
        }
    } else if (type == "ByteLevel") {
        // Adjusts offsets only; adds no tokens.
    } else if (type == "TemplateProcessing") {
        element single, specials_el;
        if (!field(o, "single", &single)) bad(where, "missing field \"single\"");
        object specials;
        bool have = field(o, "special_tokens", &specials_el);
        if (have) specials = as_object(specials_el, where + ".special_tokens");
        out.add(parse_template(single, specials, have, where + ".single"));
    } else if (type == "RobertaProcessing" || type == "BertProcessing") {
        PostProcessor::Template tmpl(3);
        tmpl[0].ids = {token_pair(o, "cls", t, where)};
        tmpl[1].is_sequence = true;
        tmpl[2].ids = {token_pair(o, "sep", t, where)};
        out.add(tmpl);
    } else {
        unsupported(where, "post_processor " + quote(type) +
                               " is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)");
    }
}

// --- model and added tokens -----------------------------------------------------------------------------------

struct VocabEntry {
    std::string_view token;
    int32_t id;
};

// "▁" if long words may be cut before it (see BpeConfig::split_marker): it is a token, and no token has it right
// after another character, so no merge can produce a symbol spanning such a cut. Else "".
std::string safe_split_marker(const StringIdMap& ids, const std::vector<VocabEntry>& vocab_entries) {
    const std::string_view marker = "\xE2\x96\x81";
    if (ids.find(marker) < 0) return "";
    for (const VocabEntry& v : vocab_entries) {
        for (size_t k = v.token.find(marker, 1); k != std::string_view::npos; k = v.token.find(marker, k + 1)) {
            if (k < marker.size() || v.token.compare(k - marker.size(), marker.size(), marker) != 0) return "";
        }
    }
    return std::string(marker);
}

void parse_model(object root, Tokenizer::Impl& t, std::vector<VocabEntry>& vocab_entries) {
    element model_el;
    if (!field(root, "model", &model_el)) bad("model", "missing field \"model\"");
    object m = as_object(model_el, "model");
    element type_el;
    bool has_type = field(m, "type", &type_el);
    std::string type = has_type ? std::string(as_string(type_el, "model.type")) : "BPE";
    if (type != "BPE") {
        unsupported("model.type", "model type " + quote(type) +
                                      " is not supported (only BPE models: byte-level or SentencePiece-style)");
    }

    element vocab_el;
    if (!field(m, "vocab", &vocab_el)) bad("model", "missing field \"vocab\"");
    object vocab = as_object(vocab_el, "model.vocab");
    StringIdMap ids;
    std::unordered_map<int32_t, std::string_view> by_id;
    for (auto kv : vocab) {
        std::string w = "model.vocab[" + quote(kv.key) + "]";
        int32_t id = as_token_id(kv.value, w);
        if (!ids.insert(kv.key, id)) bad(w, "duplicate token");
        auto [it, inserted] = by_id.emplace(id, kv.key);
        if (!inserted) bad(w, "id " + std::to_string(id) + " is also used by " + quote(it->second) + " (duplicate id)");
        vocab_entries.push_back({kv.key, id});
    }

    BpeConfig cfg;
    cfg.fuse_unk = opt_bool(m, "fuse_unk", false, "model");
    cfg.byte_fallback = opt_bool(m, "byte_fallback", false, "model");
    cfg.ignore_merges = opt_bool(m, "ignore_merges", false, "model");
    cfg.continuing_subword_prefix = opt_string(m, "continuing_subword_prefix", "", "model");
    cfg.end_of_word_suffix = opt_string(m, "end_of_word_suffix", "", "model");
    std::string unk = opt_string(m, "unk_token", "", "model");
    element unk_el;
    if (field(m, "unk_token", &unk_el)) {
        cfg.unk_id = ids.find(unk);
        if (cfg.unk_id < 0) bad("model.unk_token", "token " + quote(unk) + " is not in the vocab");
    }
    element dropout;
    if (field(m, "dropout", &dropout) && !dropout.is_number()) bad("model.dropout", "expected a number or null");

    PairMap merges;
    element merges_el;
    if (field(m, "merges", &merges_el)) {
        const size_t prefix_len = cfg.continuing_subword_prefix.size();
        int32_t rank = 0;
        for (element me : as_array(merges_el, "model.merges")) {
            std::string w = "model.merges[" + std::to_string(rank) + "]";
            std::string_view a, b;
            if (me.is_string()) {
                std::string_view s = as_string(me, w);
                size_t sp = s.find(' ');
                if (sp == std::string_view::npos) bad(w, "expected \"left right\", got " + quote(s));
                a = s.substr(0, sp);
                b = s.substr(sp + 1);
            } else if (me.is_array()) {
                array pair = as_array(me, w);
                if (pair.size() != 2) bad(w, "expected a pair [left, right]");
                a = as_string(pair.at(0).value_unsafe(), w + "[0]");
                b = as_string(pair.at(1).value_unsafe(), w + "[1]");
            } else {
                bad(w, "expected a string \"left right\" or a pair [left, right]");
            }
            int32_t ia = ids.find(a), ib = ids.find(b);
            if (ia < 0) bad(w, "token " + quote(a) + " is not in the vocab");
            if (ib < 0) bad(w, "token " + quote(b) + " is not in the vocab");
            if (b.size() < prefix_len) bad(w, "token " + quote(b) + " is shorter than continuing_subword_prefix");
            std::string merged = std::string(a) + std::string(b.substr(prefix_len));
            int32_t im = ids.find(merged);
            if (im < 0) bad(w, "merged token " + quote(merged) + " is not in the vocab");
            merges.put(ia, ib, PairMap::Value{rank, im});
            if (rank == INT32_MAX) bad("model.merges", "too many merges");
            ++rank;
        }
    }
    if (!cfg.ignore_merges && cfg.continuing_subword_prefix.empty() && cfg.end_of_word_suffix.empty()) {
        cfg.split_marker = safe_split_marker(ids, vocab_entries);
    }
    t.model = std::make_unique<BpeModel>(std::move(ids), std::move(merges), std::move(cfg));
}

void parse_added_tokens(object root, Tokenizer::Impl& t, const std::vector<VocabEntry>& vocab_entries) {
    element list;
    if (!field(root, "added_tokens", &list)) return;
    std::unordered_map<int32_t, std::string_view> vocab_by_id;
    for (const VocabEntry& v : vocab_entries) vocab_by_id.emplace(v.id, v.token);
    std::unordered_map<int32_t, size_t> seen_ids;
    size_t k = 0;
    for (element e : as_array(list, "added_tokens")) {
        std::string w = "added_tokens[" + std::to_string(k++) + "]";
        object o = as_object(e, w);
        AddedToken tok;
        element v;
        if (!field(o, "id", &v)) bad(w, "missing field \"id\"");
        tok.id = as_token_id(v, w + ".id");
        if (!field(o, "content", &v)) bad(w, "missing field \"content\"");
        tok.content = std::string(as_string(v, w + ".content"));
        tok.special = opt_bool(o, "special", false, w);
        tok.single_word = opt_bool(o, "single_word", false, w);
        tok.lstrip = opt_bool(o, "lstrip", false, w);
        tok.rstrip = opt_bool(o, "rstrip", false, w);
        tok.normalized = opt_bool(o, "normalized", !tok.special, w);
        if (tok.content.empty()) bad(w + ".content", "empty token");
        if (!seen_ids.emplace(tok.id, t.added.size()).second) bad(w + ".id", "duplicate added token id " + std::to_string(tok.id));
        if (!t.added_ids.insert(tok.content, tok.id)) bad(w + ".content", "duplicate added token " + quote(tok.content));
        auto it = vocab_by_id.find(tok.id);
        if (it != vocab_by_id.end() && it->second != tok.content) {
            bad(w, "id " + std::to_string(tok.id) + " is " + quote(tok.content) + " here but " + quote(it->second) +
                       " in model.vocab");
        }
        int32_t model_id = t.model->token_id(tok.content);
        if (model_id >= 0 && model_id != tok.id) {
            bad(w, quote(tok.content) + " has id " + std::to_string(tok.id) + " here but " + std::to_string(model_id) +
                       " in model.vocab");
        }
        t.added.push_back(std::move(tok));
    }
}

void build_matchers(Tokenizer::Impl& t) {
    std::vector<const AddedToken*> raw, norm;
    std::vector<std::string> raw_pat, norm_pat;
    // HF orders the automaton patterns: special tokens first, then the others (each in file order).
    for (int pass = 0; pass < 2; ++pass) {
        for (const AddedToken& a : t.added) {
            if (a.special != (pass == 0)) continue;
            if (a.normalized) {
                norm.push_back(&a);
                norm_pat.push_back(t.normalizer.apply(a.content));
            } else {
                raw.push_back(&a);
                raw_pat.push_back(a.content);
            }
        }
    }
    t.raw_matcher.build(raw, raw_pat);
    t.norm_matcher.build(norm, norm_pat);
}

// Conventional names, in order of preference, when the post-processor does not say.
const char* const kBosNames[] = {"<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "<|bos|>"};
const char* const kEosNames[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|eos|>", "<|eot_id|>", "<|im_end|>"};
// End of generation: any of these (plus eos).
const char* const kEogNames[] = {"</s>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>",
                                 "<|im_end|>", "<|end|>", "<end_of_turn>", "<eos>", "<|eos|>", "<EOT>", "<|EOT|>"};

void build_tables(Tokenizer::Impl& t, const std::vector<VocabEntry>& vocab_entries) {
    int64_t max_id = -1;
    for (const VocabEntry& v : vocab_entries) max_id = std::max<int64_t>(max_id, v.id);
    for (const AddedToken& a : t.added) max_id = std::max<int64_t>(max_id, a.id);
    t.vocab_size = static_cast<int32_t>(max_id + 1);
    const size_t n = static_cast<size_t>(t.vocab_size);

    std::vector<std::string_view> text(n);
    t.flags.assign(n, 0);
    for (const VocabEntry& v : vocab_entries) {
        text[static_cast<size_t>(v.id)] = v.token;
        t.flags[static_cast<size_t>(v.id)] |= Tokenizer::Impl::kPresent;
    }
    // HF (0.23) names a normalized added token by its normalized content in id_to_token and decode ("th e" under
    // TinyLlama's normalizer is "▁th▁e"), while token_to_id takes the content as written.
    std::vector<std::string> normalized_names;
    normalized_names.reserve(t.added.size());
    for (const AddedToken& a : t.added) {
        normalized_names.push_back(a.normalized ? t.normalizer.apply(a.content) : a.content);
        text[static_cast<size_t>(a.id)] = normalized_names.back();
        t.flags[static_cast<size_t>(a.id)] |= Tokenizer::Impl::kPresent;
        if (a.special) t.flags[static_cast<size_t>(a.id)] |= Tokenizer::Impl::kSpecial;
    }
    t.text_off.assign(n + 1, 0);
    t.piece_off.assign(n + 1, 0);
    for (size_t id = 0; id < n; ++id) {
        t.text_off[id] = t.text_pool.size();
        t.text_pool.append(text[id]);
        t.piece_off[id] = t.piece_pool.size();
        if (t.flags[id] & Tokenizer::Impl::kPresent) {
            t.piece_pool += t.decoder.piece(text[id]);
            if (t.decoder.is_byte_token(text[id])) t.flags[id] |= Tokenizer::Impl::kBytePiece;
        }
    }
    t.text_off[n] = t.text_pool.size();
    t.piece_off[n] = t.piece_pool.size();

    auto lookup = [&](std::string_view name) -> int32_t {
        int32_t id = t.added_ids.find(name);
        return id >= 0 ? id : t.model->token_id(name);
    };
    t.bos = t.post_processor.leading_id();
    t.eos = t.post_processor.trailing_id();
    for (const char* name : kBosNames) {
        if (t.bos < 0) t.bos = lookup(name);
    }
    for (const char* name : kEosNames) {
        if (t.eos < 0) t.eos = lookup(name);
    }
    for (const char* name : kEogNames) {
        int32_t id = lookup(name);
        if (id >= 0) t.flags[static_cast<size_t>(id)] |= Tokenizer::Impl::kEog;
    }
    if (t.eos >= 0) t.flags[static_cast<size_t>(t.eos)] |= Tokenizer::Impl::kEog;
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> load_tokenizer_json(std::string_view json_text) {
    auto t = std::make_unique<Tokenizer::Impl>();
    t->json = std::string(json_text);

    simdjson::dom::parser parser;
    element root_el;
    if (auto err = parser.parse(t->json.data(), t->json.size()).get(root_el)) {
        std::string why = simdjson::error_message(err);
        if (err == simdjson::UTF8_ERROR) why = "bad UTF-8: " + why;
        bad("document", "invalid JSON (" + why + ")");
    }
    object root = as_object(root_el, "document");

    std::vector<VocabEntry> vocab_entries;
    parse_model(root, *t, vocab_entries);
    parse_added_tokens(root, *t, vocab_entries);

    element e;
    if (field(root, "normalizer", &e)) parse_normalizer(e, "normalizer", t->normalizer);
    if (field(root, "pre_tokenizer", &e)) parse_pre_tokenizer(e, "pre_tokenizer", t->pre_tokenizer);
    if (field(root, "decoder", &e)) {
        t->decoder.set_present(true);
        parse_decoder(e, "decoder", t->decoder);
    }
    if (field(root, "post_processor", &e)) parse_post_processor(e, "post_processor", *t, t->post_processor);

    build_matchers(*t);
    build_tables(*t, vocab_entries);
    // Post-processor ids must name real tokens.
    std::vector<int32_t> probe = t->post_processor.apply({});
    for (int32_t id : probe) {
        if (id >= t->vocab_size || !(t->flags[static_cast<size_t>(id)] & Tokenizer::Impl::kPresent)) {
            bad("post_processor", "special token id " + std::to_string(id) + " is not in the vocab");
        }
    }
    return t;
}

}  // namespace ttt
