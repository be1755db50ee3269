// A small fixed-size thread pool with one operation: parallel_for over a STATIC partition.
//
// [0, n) is cut into at most size() contiguous chunks whose bounds depend only on n, size() and the grain, never
// on timing: chunk i always covers the same indices and always runs on thread i (the caller is thread 0). Code
// whose chunks write disjoint outputs is therefore deterministic, and code that reduces per chunk and then adds
// the partial results in chunk order gives the same bits for the same thread count.
//
// Thread-compatible: one parallel_for at a time per pool (concurrent calls from different threads serialise on a
// mutex). A parallel_for issued from inside a chunk (nesting) runs inline on the calling thread. An exception thrown
// by a chunk is rethrown to the caller after every chunk has finished.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ttt {

class ThreadPool {
public:
    // num_threads counts the calling thread: 1 = no worker threads, everything runs inline. 0 = hardware threads.
    explicit ThreadPool(int num_threads = 1);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return num_threads_; }

    // fn(begin, end) for each chunk of [0, n). Chunks hold at least `grain` indices (except the last), so small
    // loops do not pay for waking threads: chunks = min(size(), ceil(n / grain)).
    void parallel_for(size_t n, const std::function<void(size_t begin, size_t end)>& fn, size_t grain = 1);

    // The chunk bounds parallel_for uses (exposed for callers that reduce per chunk).
    static size_t chunk_count(size_t n, int threads, size_t grain);
    static size_t chunk_begin(size_t n, size_t chunks, size_t i) { return n / chunks * i + (i < n % chunks ? i : n % chunks); }

    // Hardware threads (at least 1).
    static int hardware_threads();

private:
    void worker_main(int index);

    int num_threads_ = 1;
    std::vector<std::thread> workers_;
    std::mutex call_mutex_;  // one parallel_for at a time

    // Hand-off: the caller publishes a job by bumping generation_ (release); workers spin on it for a short while
    // after each job (a forward pass issues hundreds of small jobs back to back, and waking a sleeping thread costs
    // more than most of them), then sleep on start_cv_. Completion likewise: pending_ counts down, the caller spins,
    // then sleeps on done_cv_.
    std::mutex mutex_;
    std::condition_variable start_cv_, done_cv_;
    std::atomic<uint64_t> generation_{0};  // bumped for every job
    std::atomic<bool> stop_{false};
    // The current job (written before generation_ is bumped, read after it is seen).
    const std::function<void(size_t, size_t)>* job_ = nullptr;
    size_t job_n_ = 0, job_chunks_ = 0;
    std::atomic<int> pending_{0};
    std::exception_ptr error_;
};

}  // namespace ttt
