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
        stop_ = true;
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

void ThreadPool::worker_main(int index) {
    uint64_t seen = 0;
    for (;;) {
        const std::function<void(size_t, size_t)>* job;
        size_t n, chunks;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            job = job_;
            n = job_n_;
            chunks = job_chunks_;
        }
        const size_t i = size_t(index);
        std::exception_ptr err;
        if (i < chunks) {
            ChunkFlag flag;
            try {
                (*job)(chunk_begin(n, chunks, i), chunk_begin(n, chunks, i + 1));
            } catch (...) {
                err = std::current_exception();
            }
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (err && !error_) error_ = err;
            if (--pending_ == 0) done_cv_.notify_one();
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
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        job_n_ = n;
        job_chunks_ = chunks;
        pending_ = int(workers_.size());  // every worker acknowledges every job, even one without a chunk for it
        error_ = nullptr;
        ++generation_;
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
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    if (!err) err = error_;
    error_ = nullptr;
    lock.unlock();
    if (err) std::rethrow_exception(err);
}

}  // namespace ttt
