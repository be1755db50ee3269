// Status strings, the thread-local last error and the version functions.
#include <stdexcept>

#include "api/guard.h"

namespace ttt {

namespace {
thread_local std::string t_last_error;
thread_local int t_injected_fault = 0;
struct InjectedNonStdException {};
}  // namespace

ttt_status set_last_error(ttt_status status, const std::string& message) {
    try {
        t_last_error = message;
    } catch (...) {
        // Out of memory while recording the message: keep the status, lose the text.
    }
    return status;
}

void clear_last_error() { t_last_error.clear(); }

void inject_fault_for_testing(int kind) { t_injected_fault = kind; }

void maybe_inject_fault() {
    if (t_injected_fault == 0) return;
    const int kind = t_injected_fault;
    t_injected_fault = 0;
    if (kind == 1) throw std::runtime_error("injected fault for testing");
    throw InjectedNonStdException{};
}

}  // namespace ttt

extern "C" {

TTT_API uint32_t TTT_CALL ttt_abi_version(void) { return TTT_ABI_VERSION; }

TTT_API const char* TTT_CALL ttt_version_string(void) { return TTT_VERSION_STRING; }

TTT_API const char* TTT_CALL ttt_last_error(void) { return ttt::t_last_error.c_str(); }

TTT_API const char* TTT_CALL ttt_status_string(ttt_status status) {
    switch (status) {
        case TTT_OK: return "TTT_OK: success";
        case TTT_ERR_NULL_POINTER: return "TTT_ERR_NULL_POINTER: a required pointer argument was NULL";
        case TTT_ERR_DIMENSION_MISMATCH: return "TTT_ERR_DIMENSION_MISMATCH: sizes do not fit each other";
        case TTT_ERR_INVALID_ARGUMENT: return "TTT_ERR_INVALID_ARGUMENT: an argument is out of its allowed range";
        case TTT_ERR_BUFFER_TOO_SMALL: return "TTT_ERR_BUFFER_TOO_SMALL: the buffer is too small; the needed size was returned";
        case TTT_ERR_BUSY: return "TTT_ERR_BUSY: the context is in use by another thread";
        case TTT_ERR_INVALID_STATE: return "TTT_ERR_INVALID_STATE: the call does not fit the object's state";
        case TTT_ERR_UNSUPPORTED: return "TTT_ERR_UNSUPPORTED: not supported by this build or model";
        case TTT_ERR_IO: return "TTT_ERR_IO: a file could not be opened, read or written";
        case TTT_ERR_FORMAT: return "TTT_ERR_FORMAT: malformed or corrupted data";
        case TTT_ERR_INCOMPATIBLE: return "TTT_ERR_INCOMPATIBLE: the data does not fit this model";
        case TTT_ERR_OUT_OF_MEMORY: return "TTT_ERR_OUT_OF_MEMORY: out of memory";
        case TTT_ERR_ABORTED: return "TTT_ERR_ABORTED: cancelled";
        case TTT_ERR_BACKEND: return "TTT_ERR_BACKEND: the compute backend failed or is unavailable";
        case TTT_ERR_PANIC: return "TTT_ERR_PANIC: internal error caught at the API boundary";
        default: return "unknown status code";
    }
}

}  // extern "C"
