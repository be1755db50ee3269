// A failed C ABI call as an HTTP error: the caller's fault (400/409/422) or ours (500), with the library's message
// (ttt_last_error names the file, field and reason).
#pragma once

#include <string>

#include "bit_ttt.h"
#include "http_error.h"

namespace studio {

inline HttpError abi_error(ttt_status s, const std::string& what) {
    const std::string msg = what + ": " + ttt_last_error();
    switch (s) {
        case TTT_ERR_BUSY: return HttpError(409, "busy", msg);
        case TTT_ERR_ABORTED: return HttpError(409, "aborted", msg);
        case TTT_ERR_IO: return HttpError(422, "io", msg);
        case TTT_ERR_FORMAT: return HttpError(422, "format", msg);
        case TTT_ERR_INCOMPATIBLE: return HttpError(422, "incompatible", msg);
        case TTT_ERR_INVALID_ARGUMENT:
        case TTT_ERR_INVALID_STATE:
        case TTT_ERR_UNSUPPORTED: return HttpError(400, "invalid", msg);
        default: return HttpError(500, "internal", msg);
    }
}

}  // namespace studio
