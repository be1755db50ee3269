// Internal error type. Code inside the library throws ttt::Error with a status code and a message that names the
// file, field and reason; the C ABI layer (src/api) catches it and turns it into a ttt_status + ttt_last_error().
#pragma once

#include <stdexcept>
#include <string>

#include "bit_ttt.h"

namespace ttt {

class Error : public std::runtime_error {
public:
    Error(ttt_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    ttt_status status() const { return status_; }

private:
    ttt_status status_;
};

// Shorthands for the common cases; each names the status in the call site.
[[noreturn]] inline void fail_format(const std::string& message) { throw Error(TTT_ERR_FORMAT, message); }
[[noreturn]] inline void fail_io(const std::string& message) { throw Error(TTT_ERR_IO, message); }
[[noreturn]] inline void fail_argument(const std::string& message) { throw Error(TTT_ERR_INVALID_ARGUMENT, message); }
[[noreturn]] inline void fail_incompatible(const std::string& message) { throw Error(TTT_ERR_INCOMPATIBLE, message); }
[[noreturn]] inline void fail_unsupported(const std::string& message) { throw Error(TTT_ERR_UNSUPPORTED, message); }

}  // namespace ttt
