#include "backend/thread_pool.h"

#include <algorithm>

namespace ttt {

namespace {
// Set while a thread runs a chunk of some pool: a nested parallel_for then runs inline instead of deadlocking.
thread_local bool t_inside_chunk = false;

struct ChunkFlag {
    bool saved;
    ChunkFlag() : saved(t_inside_chunk) { t_inside_chunk = true; }
    ~ChunkFlag() { t_inside_chunk = saved; }
};
}  // namespace

int ThreadPool::hardware_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : int(n);
}

ThreadPool::ThreadPool(int num_threads) {
    if (num_threads <= 0) num_threads = hardware_threads();
    num_threads_ = std::min(num_threads, 1024);
    workers_.reserve(size_t(num_threads_ - 1));
    for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
    }
    start_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
}

size_t ThreadPool::chunk_count(size_t n, int threads, size_t grain) {
    if (n == 0) return 0;
    if (grain == 0) grain = 1;
    const size_t by_grain = (n + grain - 1) / grain;
    return std::min(size_t(threads < 1 ? 1 : threads), by_grain);
}

namespace {

// Spin iterations before sleeping (each a pause instruction, ~10-40 ns): about 20-80 µs, longer than the gap
// between two jobs of a forward pass, far shorter than a frame.
constexpr int kSpinIterations = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

}  // namespace

void ThreadPool::worker_main(int index) {
    uint64_t seen = 0;
    for (;;) {
        // Spin for the next job, then sleep until one comes.
        bool got = false;
        for (int spin = 0; spin < kSpinIterations; ++spin) {
            if (generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_relaxed)) {
                got = true;
                break;
            }
            cpu_relax();
        }
        if (!got) {
            std::unique_lock<std::mutex> lock(mutex_);
            start_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
        }
        if (stop_.load()) return;
        seen = generation_.load(std::memory_order_acquire);
        const std::function<void(size_t, size_t)>* job = job_;
        const size_t n = job_n_, chunks = job_chunks_;
        const size_t i = size_t(index);
        if (i < chunks) {
            ChunkFlag flag;
            try {
                (*job)(chunk_begin(n, chunks, i), chunk_begin(n, chunks, i + 1));
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
            }
        }
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);  // the caller may be about to sleep on done_cv_
            done_cv_.notify_one();
        }
    }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t grain) {
    const size_t chunks = chunk_count(n, num_threads_, grain);
    if (chunks == 0) return;
    if (chunks == 1 || t_inside_chunk) {
        // Same partition, run in order on this thread (nesting, or nothing to share). With one chunk the pool
        // stays free, so a parallel_for inside it may still use the workers.
        for (size_t i = 0; i < chunks; ++i) fn(chunk_begin(n, chunks, i), chunk_begin(n, chunks, i + 1));
        return;
    }
    std::lock_guard<std::mutex> call(call_mutex_);
    job_ = &fn;
    job_n_ = n;
    job_chunks_ = chunks;
    error_ = nullptr;
    pending_.store(int(workers_.size()), std::memory_order_relaxed);  // every worker acknowledges every job
    {
        std::lock_guard<std::mutex> lock(mutex_);  // sleeping workers check generation_ under this lock
        generation_.fetch_add(1, std::memory_order_release);
    }
    start_cv_.notify_all();
    std::exception_ptr err;
    {
        ChunkFlag flag;
        try {
            fn(chunk_begin(n, chunks, 0), chunk_begin(n, chunks, 1));
        } catch (...) {
            err = std::current_exception();
        }
    }
    bool done = false;
    for (int spin = 0; spin < kSpinIterations * 8 && !done; ++spin) {
        done = pending_.load(std::memory_order_acquire) == 0;
        if (!done) cpu_relax();
    }
    if (!done) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_cv_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = nullptr;
    if (!err) err = error_;
    error_ = nullptr;
    if (err) std::rethrow_exception(err);
}

}  // namespace ttt
