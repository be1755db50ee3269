#include "backend/backend.h"

#include <cstring>
#include <vector>

namespace ttt {

DenseWeight Backend::prepare_dense_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    (void)owner;  // the widened copy does not need the bf16 bytes afterwards
    auto floats = std::make_shared<std::vector<float>>(rows * cols);
    for (size_t i = 0; i < floats->size(); ++i) {
        const uint32_t bits = uint32_t(host[i]) << 16;  // bfloat16 is the top half of a float: exact
        std::memcpy(&(*floats)[i], &bits, 4);
    }
    return prepare_dense(floats->data(), rows, cols, floats);
}

}  // namespace ttt
