#include "tokenizer/post_processor.h"

namespace ttt {

std::vector<int32_t> PostProcessor::apply(std::vector<int32_t> ids) const {
    for (const Template& t : templates_) {
        std::vector<int32_t> out;
        out.reserve(ids.size() + 4);
        for (const Item& it : t) {
            if (it.is_sequence) out.insert(out.end(), ids.begin(), ids.end());
            else out.insert(out.end(), it.ids.begin(), it.ids.end());
        }
        ids.swap(out);
    }
    return ids;
}

int32_t PostProcessor::leading_id() const {
    for (const Template& t : templates_) {
        if (!t.empty() && !t.front().is_sequence && t.front().ids.size() == 1) return t.front().ids[0];
    }
    return -1;
}

int32_t PostProcessor::trailing_id() const {
    for (const Template& t : templates_) {
        if (!t.empty() && !t.back().is_sequence && t.back().ids.size() == 1) return t.back().ids[0];
    }
    return -1;
}

}  // namespace ttt
