// Tokenizer: HF's encode pipeline (added tokens -> normalizer -> normalized added tokens -> pre-tokenizer ->
// BPE -> post-processor) and decode pipeline (ids -> token strings -> decoder).
#include "tokenizer/tokenizer.h"

#include <limits>

#include "common/error.h"
#include "common/log.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace ttt {

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_json(std::string_view json_text) {
    return std::unique_ptr<Tokenizer>(new Tokenizer(load_tokenizer_json(json_text)));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    const Impl& t = *impl_;
    if (text.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
        fail_argument("tokenize: text of " + std::to_string(text.size()) + " bytes is too long (limit 2 GiB)");
    }
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    std::vector<Segment> segments, inner;
    t.raw_matcher.split(text, parse_special, segments);
    for (const Segment& seg : segments) {
        if (seg.token >= 0) {
            ids.push_back(t.raw_matcher.token(seg.token).id);
            continue;
        }
        std::string_view piece = text.substr(seg.begin, seg.end - seg.begin);
        std::string normalized;
        if (!t.normalizer.empty()) {
            normalized = t.normalizer.apply(piece);
            piece = normalized;
        }
        inner.clear();
        t.norm_matcher.split(piece, parse_special, inner);
        for (const Segment& sub : inner) {
            if (sub.token >= 0) {
                ids.push_back(t.norm_matcher.token(sub.token).id);
                continue;
            }
            std::string_view part = piece.substr(sub.begin, sub.end - sub.begin);
            if (t.pre_tokenizer.empty()) {
                t.model->tokenize(part, ids);
                continue;
            }
            struct Sink {
                const BpeModel* model;
                std::vector<int32_t>* ids;
            } sink{t.model.get(), &ids};
            t.pre_tokenizer.apply(
                part, seg.begin == 0 && sub.begin == 0,
                [](void* ctx, std::string_view word) {
                    auto* k = static_cast<Sink*>(ctx);
                    k->model->tokenize(word, *k->ids);
                },
                &sink);
        }
    }
    if (add_special) ids = t.post_processor.apply(std::move(ids));
    return ids;
}

std::string Tokenizer::decode(const int32_t* ids, size_t n, bool skip_special) const {
    const Impl& t = *impl_;
    if (n > 0 && ids == nullptr) fail_argument("detokenize: ids is NULL");
    for (size_t k = 0; k < n; ++k) {
        if (ids[k] < 0 || ids[k] >= t.vocab_size) {
            fail_argument("detokenize: token id " + std::to_string(ids[k]) + " at position " + std::to_string(k) +
                          " is out of range [0, " + std::to_string(t.vocab_size) + ")");
        }
    }
    // The ids that reach the decoder: gaps in the id space give nothing (HF's id_to_token), specials maybe skipped.
    auto kept = [&](int32_t id) {
        uint8_t f = t.flags[static_cast<size_t>(id)];
        return (f & Impl::kPresent) && !(skip_special && (f & Impl::kSpecial));
    };
    std::string out;
    switch (t.decoder.shape()) {
        case Decoder::Shape::ByteLevel:
            for (size_t k = 0; k < n; ++k) {
                if (kept(ids[k])) out += t.piece_of(ids[k]);
            }
            return unicode::to_valid_utf8(out);
        case Decoder::Shape::SentencePiece: {
            // ByteFallback: a run of byte tokens is kept if it is valid UTF-8, else each byte becomes U+FFFD.
            size_t run_begin = 0, run_len = 0;
            auto flush = [&] {
                if (run_len > 0 && !unicode::is_valid_utf8(std::string_view(out).substr(run_begin))) {
                    out.resize(run_begin);
                    for (size_t r = 0; r < run_len; ++r) out += "\xEF\xBF\xBD";
                }
                run_len = 0;
            };
            for (size_t k = 0; k < n; ++k) {
                if (!kept(ids[k])) continue;
                if (t.flags[static_cast<size_t>(ids[k])] & Impl::kBytePiece) {
                    if (run_len++ == 0) run_begin = out.size();
                } else {
                    flush();
                }
                out += t.piece_of(ids[k]);
            }
            flush();
            t.decoder.strip_final(out);
            return out;
        }
        case Decoder::Shape::Generic:
            break;
    }
    std::vector<std::string> tokens;
    tokens.reserve(n);
    for (size_t k = 0; k < n; ++k) {
        if (kept(ids[k])) tokens.emplace_back(t.text_of(ids[k]));
    }
    return t.decoder.decode(std::move(tokens));
}

std::string Tokenizer::token_to_piece(int32_t id) const {
    if (id < 0 || id >= impl_->vocab_size) {
        fail_argument("token id " + std::to_string(id) + " is out of range [0, " + std::to_string(impl_->vocab_size) + ")");
    }
    return std::string(impl_->piece_of(id));
}

std::string Tokenizer::token_text(int32_t id) const {
    if (id < 0 || id >= impl_->vocab_size) {
        fail_argument("token id " + std::to_string(id) + " is out of range [0, " + std::to_string(impl_->vocab_size) + ")");
    }
    return std::string(impl_->text_of(id));
}

int32_t Tokenizer::token_id(std::string_view token) const {
    int32_t id = impl_->added_ids.find(token);
    return id >= 0 ? id : impl_->model->token_id(token);
}

bool Tokenizer::is_special(int32_t id) const {
    return id >= 0 && id < impl_->vocab_size && (impl_->flags[static_cast<size_t>(id)] & Impl::kSpecial);
}

bool Tokenizer::is_eog(int32_t id) const {
    return id >= 0 && id < impl_->vocab_size && (impl_->flags[static_cast<size_t>(id)] & Impl::kEog);
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }

void Tokenizer::set_bos_eos(int32_t bos, int32_t eos) {
    Impl& t = *impl_;
    for (int32_t id : {bos, eos}) {
        if (id < -1 || id >= t.vocab_size) {
            fail_argument("bos/eos id " + std::to_string(id) + " is out of range [-1, " + std::to_string(t.vocab_size) + ")");
        }
    }
    t.bos = bos;
    t.eos = eos;
    if (eos >= 0) t.flags[static_cast<size_t>(eos)] |= Impl::kEog;
}

void Tokenizer::add_end_token(int32_t id) {
    if (id >= 0 && id < impl_->vocab_size) impl_->flags[static_cast<size_t>(id)] |= Impl::kEog;
}

const std::string& Tokenizer::json() const { return impl_->json; }

std::unique_ptr<Tokenizer> Tokenizer::for_model(std::string_view json_text, int32_t model_vocab, int32_t bos_id,
                                                int32_t eos_id, const std::string& source) {
    std::unique_ptr<Tokenizer> tok;
    try {
        tok = from_json(json_text);
        if (bos_id >= 0 || eos_id >= 0) tok->set_bos_eos(bos_id >= 0 ? bos_id : tok->bos_id(), eos_id >= 0 ? eos_id : tok->eos_id());
    } catch (const Error& e) {
        throw Error(e.status() == TTT_ERR_INVALID_ARGUMENT ? TTT_ERR_FORMAT : e.status(), source + ": tokenizer: " + e.what());
    }
    if (tok->vocab_size() > model_vocab)
        log_warn(source + ": the tokenizer has " + std::to_string(tok->vocab_size()) + " tokens but the model only " +
                 std::to_string(model_vocab) + "; larger ids are refused");
    return tok;
}

}  // namespace ttt
