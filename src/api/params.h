// The sized-params protocol shared by every *_params_init and every function taking params (DESIGN §4): the first
// field is uint32_t struct_size; only the caller's struct_size bytes are theirs; fields they lack keep defaults.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "api/guard.h"

namespace ttt {

// Fill a caller's struct (of the caller's size) with defaults.
template <class P>
void init_params(P* params, uint32_t struct_size, void (*defaults)(P*)) {
    require_pointer(params, "params");
    if (struct_size < sizeof(uint32_t)) throw Error(TTT_ERR_INVALID_ARGUMENT, "struct_size is too small");
    P p;
    defaults(&p);
    std::memcpy(params, &p, std::min<size_t>(struct_size, sizeof p));
    params->struct_size = static_cast<uint32_t>(std::min<size_t>(struct_size, sizeof p));
}

// Read a caller's params (NULL = defaults) over the defaults.
template <class P>
P read_params(const P* given, void (*defaults)(P*), const char* name) {
    P p;
    defaults(&p);
    if (!given) return p;
    if (given->struct_size < sizeof(uint32_t) || given->struct_size > 4096)
        throw Error(TTT_ERR_INVALID_ARGUMENT,
                    std::string(name) + ".struct_size " + std::to_string(given->struct_size) +
                        " is invalid; initialise the struct with its *_params_init function");
    std::memcpy(&p, given, std::min<size_t>(given->struct_size, sizeof p));
    p.struct_size = sizeof p;
    return p;
}

}  // namespace ttt
