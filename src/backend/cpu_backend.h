// The CPU backend: host memory, a thread pool, and the kernels of kernels/cpu at a chosen instruction-set level.
// Level scalar is the reference backend (the oracle): the file layout in place, float activations (act_bits 8 as
// float fake quantisation), plain loops, bit-identical to the reference kernels. Higher levels use repacked weights
// and int8 activations where the model quantises them (the same quantised values; the products sum exactly in
// integers, then divide once, so they differ from the float path in the last bits).
//
// A CpuBackend is made per context (it is cheap) and takes its threads from the process's one pool of that size
// (shared_pool): many contexts never start more threads than the largest n_threads asked for, and two contexts
// working at once on the same pool take turns per operation instead of oversubscribing the cores. Weights prepared
// by any CpuBackend of the same level and int8 choice can be used by all of them (same memory, same layout).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "backend/backend.h"
#include "backend/thread_pool.h"
#include "cpu/ternary_kernels.h"

namespace ttt {

enum class Int8Activations { automatic, on, off };

struct CpuBackendOptions {
    int n_threads = 1;                 // 0 = all hardware threads
    CpuLevel level = CpuLevel::scalar; // clamped to what the CPU has
    // act_bits 8 through the integer kernels (quantize_i8 + gemm_i8: the same quantised values, exact int32 sums,
    // one division) or through the float reference path (fake quantisation + gemm_f32). automatic: integer above
    // the scalar level, float at the scalar level (the oracle, bit-identical to the goldens' reference path).
    Int8Activations int8 = Int8Activations::automatic;
    // How prepare_lm_head stores the LM head (backend.h, DenseStorage); f32 keeps the loaded floats in place.
    DenseStorage lm_head = DenseStorage::f32;
    // Quantise the rows of a float-activation model (act_bits 0) to int8 too, as act_bits 8 does, so its ternary
    // products run on the integer kernels (about twice the prefill rate). It changes what such a model computes by
    // the rounding of its activations (docs/performance.md, "Int8 activations for a float model", has the measured
    // quality cost), so it is asked for, never implied.
    bool int8_float_models = false;
};

// The LM head storage the environment variable TTT_LM_HEAD asks for (f32|bf16|i8; unset or anything else: f32),
// read by CpuBackend::best like TTT_CPU_LEVEL, for measurements and tests.
DenseStorage lm_head_storage_from_env();
// Whether the environment variable TTT_ACTIVATIONS asks for int8 activations in float models ("int8"; unset or
// anything else: the model's own activations).
bool int8_float_models_from_env();

// The process's pool of n threads (0 = all hardware threads), made on first use and freed with its last user.
std::shared_ptr<ThreadPool> shared_pool(int n_threads);

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(const CpuBackendOptions& options);
    // The reference backend: scalar level, one thread unless asked.
    static std::unique_ptr<CpuBackend> reference(int n_threads = 1);
    // The fastest level this CPU has (or TTT_CPU_LEVEL says), the LM head as TTT_LM_HEAD says (f32 by default).
    static std::unique_ptr<CpuBackend> best(int n_threads);
    // The same with the LM head stored as `lm_head` and float models' activations as `int8_float_models` says, each
    // when given (else from the environment).
    static std::unique_ptr<CpuBackend> best(int n_threads, std::optional<DenseStorage> lm_head,
                                            std::optional<bool> int8_float_models = std::nullopt);

    const char* name() const override { return name_; }
    bool supports(Op op, ActType act) const override;
    CpuLevel level() const { return kernels_.level; }
    int threads() const { return pool_.size(); }

    std::unique_ptr<Buffer> alloc(size_t bytes) override;
    void upload(const Tensor& dst, const void* host) override;
    void download(const Tensor& src, void* host) override;
    void sync() override {}

    TernaryWeight prepare_ternary(const TernaryFileView& w, bool apply_scale, int act_bits) override;
    DenseWeight prepare_dense(const float* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) override;
    DenseWeight prepare_dense_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) override;
    DenseWeight prepare_lm_head(const float* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) override;
    DenseWeight prepare_lm_head_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) override;
    DenseStorage lm_head_storage() const { return lm_head_; }
    bool same_memory_as(const Backend& other) const override;
    bool memory_is_host() const override { return true; }

    void embed(const int32_t* tokens_host, const DenseWeight& table, const Tensor& out) override;
    void rmsnorm(const Tensor& x, const DenseWeight& gain, float eps, const Tensor& y) override;
    void fake_quant_i8(const Tensor& x, const Tensor& y) override;
    void quantize_i8(const Tensor& x, const QuantTensor& out) override;
    void ternary_matmul(const TernaryWeight& w, const Tensor& x, const Tensor& y) override;
    void ternary_matmul(const TernaryWeight& w, const QuantTensor& x, const Tensor& y) override;
    void dense_matmul(const DenseWeight& w, const Tensor& x, const Tensor& y) override;
    void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) override;
    void add(const Tensor& a, const Tensor& b, const Tensor& out) override;
    void l2_normalize(const Tensor& x, const Tensor& y) override;
    void ttt_delta(const Tensor& kr, const Tensor& v, const Tensor& qr, const Tensor& gates, const Tensor& out,
                   const SequenceRows* seqs, TttStateRef* states, size_t n_seqs, const DenseWeight& conv_k,
                   const DenseWeight& conv_q, const DenseWeight& gate_bias, size_t heads, float lr) override;
    void ttt_chunked(const Tensor& fhat, const Tensor& z, const SequenceRows* seqs, TttStateRef* states,
                     size_t n_seqs, size_t chunk, float lr) override;
    void gather_rows(const Tensor& x, const size_t* rows_host, size_t n, const Tensor& out) override;
    void rope(const Tensor& x, size_t head_dim, const float* inv_freq_host, const SequenceRows* seqs,
              const uint64_t* positions_host, size_t n_seqs) override;
    void attention(const Tensor& q, const Tensor& k, const Tensor& v, const SequenceRows* seqs, const KvCacheRef* caches,
                   size_t n_seqs, const AttentionShape& shape, const Tensor& out) override;
    void relu2_gated(const Tensor& gate, const Tensor& up, const Tensor& out) override;

private:
    // fn(begin, end) over [0, n) split statically between the pool's threads, `grain` indices at least per chunk.
    template <typename Fn>
    void parallel(size_t n, size_t grain, const Fn& fn);
    void apply_scale(const TernaryWeight& w, const Tensor& y);
    // attention on the SIMD levels (attention_kernels.h); unit_begin as attention's.
    void attention_fast(const Tensor& q, const SequenceRows* seqs, const KvCacheRef* caches, size_t n_seqs,
                        const AttentionShape& shape, const Tensor& out, const std::vector<size_t>& unit_begin);

    const TernaryKernels& kernels_;
    bool int8_;
    bool int8_float_models_;
    DenseStorage lm_head_;
    std::shared_ptr<ThreadPool> pool_holder_;
    ThreadPool& pool_;
    char name_[40];
};

}  // namespace ttt
