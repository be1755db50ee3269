// The exception firewall and thread-local error message of the C ABI. Every entry point runs its body through
// guarded(): ttt::Error becomes its status, std::bad_alloc becomes TTT_ERR_OUT_OF_MEMORY, anything else
// TTT_ERR_PANIC (99) with a message. Nothing thrown ever crosses into the caller.
#pragma once

#include <new>
#include <string>

#include "bit_ttt.h"
#include "common/error.h"

namespace ttt {

ttt_status set_last_error(ttt_status status, const std::string& message);
void clear_last_error();

// Test hook: the next guarded() call on this thread throws the given kind of exception inside its body
// (1 = std::runtime_error, 2 = a non-std exception). Lets tests prove the firewall catches everything.
void inject_fault_for_testing(int kind);
void maybe_inject_fault();

template <class Body>
ttt_status guarded(const char* function, Body&& body) noexcept {
    try {
        clear_last_error();
        maybe_inject_fault();
        body();
        return TTT_OK;
    } catch (const Error& e) {
        return set_last_error(e.status(), std::string(function) + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return set_last_error(TTT_ERR_OUT_OF_MEMORY, std::string(function) + ": out of memory");
    } catch (const std::exception& e) {
        return set_last_error(TTT_ERR_PANIC, std::string(function) + ": internal error: " + e.what());
    } catch (...) {
        return set_last_error(TTT_ERR_PANIC, std::string(function) + ": internal error: unknown exception");
    }
}

// Argument checks used by every entry point.
template <class T>
void require_pointer(const T* p, const char* name) {
    if (!p) throw Error(TTT_ERR_NULL_POINTER, std::string("argument '") + name + "' is NULL");
}

}  // namespace ttt
