// Ctrl-C (SIGINT) and SIGTERM for the talking commands. The signals are blocked in every thread and taken by one
// watcher thread (sigwait), so reacting to them may call the library: the watcher cancels the context's current
// work (ttt_cancel is callable from any thread). The command's own loop then decides what to do: stop the reply,
// save the soul and memories, exit. A third signal exits at once without saving (an escape hatch).
#pragma once

#include <atomic>
#include <mutex>
#include <pthread.h>
#include <thread>

#include "bit_ttt.h"

class Interrupts {
public:
    // Call before any other thread starts, so every thread inherits the blocked mask. Declare it after the objects
    // that own the watched context, so it stops watching before they are destroyed.
    Interrupts();
    ~Interrupts();
    Interrupts(const Interrupts&) = delete;
    Interrupts& operator=(const Interrupts&) = delete;

    // What a signal cancels. watch(nullptr) returns only when no cancel is in flight, so the context may then be
    // destroyed.
    void watch(ttt_context* ctx) {
        std::lock_guard<std::mutex> lock(mutex_);
        ctx_ = ctx;
    }
    int count() const { return count_.load(); }         // signals so far
    bool terminate() const { return term_.load(); }     // a SIGTERM came
    int exit_code() const { return term_.load() ? 143 : 130; }  // 128 + the signal, as shells report it

private:
    void run();
    std::mutex mutex_;
    ttt_context* ctx_ = nullptr;  // guarded by mutex_
    std::atomic<int> count_{0};
    std::atomic<bool> term_{false}, stopping_{false};
    std::thread watcher_;
};
