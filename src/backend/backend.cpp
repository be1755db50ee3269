#include "backend/backend.h"

#include <cstring>
#include <vector>

namespace ttt {

namespace {

std::shared_ptr<std::vector<float>> widen(const uint16_t* host, size_t n) {
    auto floats = std::make_shared<std::vector<float>>(n);
    for (size_t i = 0; i < n; ++i) {
        const uint32_t bits = uint32_t(host[i]) << 16;  // bfloat16 is the top half of a float: exact
        std::memcpy(&(*floats)[i], &bits, 4);
    }
    return floats;
}

}  // namespace

DenseWeight Backend::prepare_dense_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    (void)owner;  // the widened copy does not need the bf16 bytes afterwards
    auto floats = widen(host, rows * cols);
    return prepare_dense(floats->data(), rows, cols, floats);
}

DenseWeight Backend::prepare_lm_head_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    (void)owner;
    auto floats = widen(host, rows * cols);
    return prepare_lm_head(floats->data(), rows, cols, floats);  // the result keeps the floats if it uses them
}

}  // namespace ttt
