// Normalizers: the subset of HF's normalizers that the supported models use (Llama-2/TinyLlama: Prepend("▁") +
// Replace(" ", "▁"); Strip). Others are refused at load time (TTT_ERR_UNSUPPORTED) rather than ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ttt {

class Normalizer {
public:
    struct Step {
        enum class Kind { Prepend, Replace, Strip };
        Kind kind = Kind::Prepend;
        std::string a;  // Prepend: text; Replace: pattern (non-empty)
        std::string b;  // Replace: replacement
        bool left = false, right = false;  // Strip: which ends lose their white space
    };

    void add(Step step) { steps_.push_back(std::move(step)); }
    bool empty() const { return steps_.empty(); }
    std::string apply(std::string_view text) const;

private:
    std::vector<Step> steps_;
};

}  // namespace ttt
