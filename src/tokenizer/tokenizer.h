// Tokenizer: a Hugging Face tokenizer.json (BPE models: byte-level as GPT-2 / Llama-3, SentencePiece-style with
// byte fallback as Llama-2 / TinyLlama) loaded into C++, encoding and decoding exactly as the HF `tokenizers`
// package does; and a byte-level BPE trainer whose output HF loads and encodes identically.
//
// Threads: a Tokenizer is immutable after from_json(); every const method may be called from any number of
// threads at once (the internal word cache is locked, and skipped rather than waited on when busy).
//
// Text that is not valid UTF-8 is never an error. Each invalid byte is treated as one character of its own
// (neither letter, digit nor space) and encoded losslessly: byte-level models map it to its byte character,
// byte-fallback models to <0xNN>, other models to unk (or drop it, as HF does without unk). Concatenating
// token_to_piece() over the ids gives the original bytes back; decode() returns valid UTF-8 and, like HF, turns
// invalid byte sequences into U+FFFD.
//
// Deliberate differences from HF: truncation/padding in the file are ignored (callers control lengths);
// BPE dropout is ignored (encoding is deterministic); an added token whose id disagrees with the model vocab
// is a format error instead of a warning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ttt {

class Tokenizer {
public:
    // Parse a Hugging Face tokenizer.json text. Throws ttt::Error(TTT_ERR_FORMAT or TTT_ERR_UNSUPPORTED, ...).
    static std::unique_ptr<Tokenizer> from_json(std::string_view json_text);
    ~Tokenizer();
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // add_special: add BOS/EOS as the tokenizer's post_processor (TemplateProcessing) says.
    // parse_special: recognise special tokens written in the text (off by default in the C API so user text can
    // never inject a control token); non-special added tokens are always matched, as HF does.
    // Texts of 2 GiB or more throw TTT_ERR_INVALID_ARGUMENT.
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
    // Complete text (HF decode semantics, valid UTF-8). An id outside [0, vocab_size()) throws
    // TTT_ERR_INVALID_ARGUMENT; ids inside the range that name no token (gaps) contribute nothing.
    std::string decode(const int32_t* ids, size_t n, bool skip_special) const;
    // The raw bytes this token contributes (may be partial UTF-8); "" for a gap id. Out of range: throws.
    std::string token_to_piece(int32_t id) const;
    // The token's string as in the vocab (e.g. "Ġthe", "▁the", "<0x0A>"; HF's id_to_token, so a normalized added
    // token is given in its normalized form); "" for a gap id.
    std::string token_text(int32_t id) const;
    // The id of a token string (model vocab or added token), or -1.
    int32_t token_id(std::string_view token) const;

    bool is_special(int32_t id) const;
    // End of generation: eos and other end tokens (</s>, <|endoftext|>, <|eot_id|>, <|im_end|> ...).
    bool is_eog(int32_t id) const;
    int32_t vocab_size() const;  // max id + 1 over model vocab and added tokens
    // From the post_processor template (first / last special token); else a special token with a conventional
    // name (<s>, <|begin_of_text|> ... / </s>, <|endoftext|> ...). -1 if none.
    int32_t bos_id() const;
    int32_t eos_id() const;
    // Override BOS/EOS (e.g. from a model config) before the tokenizer is shared; -1 clears. The new eos also
    // counts as end of generation. Throws TTT_ERR_INVALID_ARGUMENT for an id outside [-1, vocab_size()).
    void set_bos_eos(int32_t bos, int32_t eos);
    // One more end-of-generation token (a model's generation_config.json may list several); ids outside the
    // tokenizer's range are ignored (they can never be emitted as its tokens).
    void add_end_token(int32_t id);

    const std::string& json() const;  // the original JSON text (a .bitt file embeds it)

    // A model's tokenizer: parsed from the text the model carries, with the model config's bos/eos (when given,
    // >= 0) winning over the tokenizer's guess. Whatever the tokenizer objects to is a fault of the file
    // (TTT_ERR_FORMAT naming `source`). Warns when the tokenizer knows more ids than the model's vocab.
    static std::unique_ptr<Tokenizer> for_model(std::string_view json_text, int32_t model_vocab, int32_t bos_id,
                                                int32_t eos_id, const std::string& source);

    struct Impl;

private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Train a byte-level BPE tokenizer (GPT-2 style: ByteLevel pre-tokenizer with the GPT-2 split regex, ByteLevel
// decoder) on the given files, with special tokens (e.g. "<|endoftext|>") first; returns tokenizer.json text that
// Hugging Face `tokenizers` loads and encodes identically to our Tokenizer. Deterministic: the same inputs give
// byte-identical output. progress receives values in [0, 1].
// Throws TTT_ERR_IO (unreadable file) or TTT_ERR_INVALID_ARGUMENT (vocab_size below specials + 256, bad special).
std::string train_bpe(const std::vector<std::string>& files, int32_t vocab_size, int32_t min_frequency,
                      const std::vector<std::string>& special_tokens, std::function<void(double)> progress = {});

// The same on in-memory texts (each text is one document; special tokens in it are kept out of the merges).
std::string train_bpe_texts(const std::vector<std::string>& texts, int32_t vocab_size, int32_t min_frequency,
                            const std::vector<std::string>& special_tokens,
                            std::function<void(double)> progress = {});

}  // namespace ttt
