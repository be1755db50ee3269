// Post-processors: what add_special adds around a single sequence. TemplateProcessing ("single" template),
// RobertaProcessing / BertProcessing (cls $A sep), ByteLevel (offsets only: adds nothing), Sequence of these.
#pragma once

#include <cstdint>
#include <vector>

namespace ttt {

class PostProcessor {
public:
    // One template: items are either the sequence ($A) or a run of special-token ids.
    struct Item {
        bool is_sequence = false;
        std::vector<int32_t> ids;
    };
    using Template = std::vector<Item>;

    void add(Template t) { templates_.push_back(std::move(t)); }

    // Apply every template in order (HF's Sequence processor wraps the result of the previous one).
    std::vector<int32_t> apply(std::vector<int32_t> ids) const;

    // The single special id a template puts first / last (the BOS / EOS convention), or -1.
    int32_t leading_id() const;
    int32_t trailing_id() const;

private:
    std::vector<Template> templates_;
};

}  // namespace ttt
