#include "backend/cpu_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "common/error.h"
#include "cpu/attention_kernels.h"
#include "cpu/attention_ref.h"
#include "cpu/ops_ref.h"
#include "cpu/dense_kernels.h"
#include "cpu/quantize_kernels.h"
#include "cpu/swiglu_kernels.h"
#include "cpu/ttt_kernels.h"
#include "cpu/ttt_delta_ref.h"
#include "cpu/ttt_ref.h"

namespace ttt {

namespace {

// Host memory aligned for the widest vector loads (and cache lines).
class HostBuffer final : public Buffer {
public:
    explicit HostBuffer(size_t bytes) : bytes_(bytes) {
        const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
        // Aligned operator new (C++17), not std::aligned_alloc: the Windows C runtime has no aligned_alloc.
        data_ = ::operator new(rounded, std::align_val_t(64), std::nothrow);
        if (!data_) throw Error(TTT_ERR_OUT_OF_MEMORY, "out of memory allocating " + std::to_string(bytes) + " bytes");
    }
    ~HostBuffer() override { ::operator delete(data_, std::align_val_t(64)); }
    void* data() override { return data_; }
    size_t bytes() const override { return bytes_; }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

// Work per parallel chunk below which waking a second thread costs more than it saves (element operations).
constexpr size_t kMinWorkPerChunk = 32768;

size_t grain_for(size_t work_per_index) { return std::max<size_t>(1, kMinWorkPerChunk / std::max<size_t>(1, work_per_index)); }

}  // namespace

std::shared_ptr<ThreadPool> shared_pool(int n_threads) {
    static std::mutex mutex;
    static std::map<int, std::weak_ptr<ThreadPool>> pools;
    const int n = n_threads > 0 ? std::min(n_threads, 1024) : ThreadPool::hardware_threads();
    std::lock_guard<std::mutex> lock(mutex);
    std::shared_ptr<ThreadPool> pool = pools[n].lock();
    if (!pool) {
        pool = std::make_shared<ThreadPool>(n);
        pools[n] = pool;
    }
    return pool;
}

CpuBackend::CpuBackend(const CpuBackendOptions& options)
    : kernels_(ternary_kernels(options.level)),
      int8_(options.int8 == Int8Activations::on ||
            (options.int8 == Int8Activations::automatic && kernels_.level != CpuLevel::scalar)),
      int8_float_models_(options.int8_float_models),
      lm_head_(options.lm_head),
      pool_holder_(shared_pool(options.n_threads)),
      pool_(*pool_holder_) {
    const char* head = lm_head_ == DenseStorage::bf16 ? "-head-bf16" : lm_head_ == DenseStorage::i8 ? "-head-i8" : "";
    std::snprintf(name_, sizeof name_, "cpu-%s%s%s%s", kernels_.name, int8_ ? "-i8" : "",
                  int8_float_models_ ? "-act8" : "", head);
}

DenseStorage lm_head_storage_from_env() {
    const char* env = std::getenv("TTT_LM_HEAD");
    if (env && std::strcmp(env, "bf16") == 0) return DenseStorage::bf16;
    if (env && std::strcmp(env, "i8") == 0) return DenseStorage::i8;
    return DenseStorage::f32;
}

bool int8_float_models_from_env() {
    const char* env = std::getenv("TTT_ACTIVATIONS");
    return env && std::strcmp(env, "int8") == 0;
}

std::unique_ptr<CpuBackend> CpuBackend::reference(int n_threads) {
    return std::make_unique<CpuBackend>(CpuBackendOptions{n_threads, CpuLevel::scalar});
}

std::unique_ptr<CpuBackend> CpuBackend::best(int n_threads) { return best(n_threads, std::nullopt); }

std::unique_ptr<CpuBackend> CpuBackend::best(int n_threads, std::optional<DenseStorage> lm_head,
                                             std::optional<bool> int8_float_models) {
    CpuBackendOptions options{n_threads, cpu_active_level()};
    options.lm_head = lm_head ? *lm_head : lm_head_storage_from_env();
    options.int8_float_models = int8_float_models ? *int8_float_models : int8_float_models_from_env();
    return std::make_unique<CpuBackend>(options);
}

bool CpuBackend::supports(Op, ActType) const { return true; }  // the CPU runs every op (it is the reference)

template <typename Fn>
void CpuBackend::parallel(size_t n, size_t grain, const Fn& fn) {
    if (n == 0) return;
    if (pool_.size() > 1 && n > grain) pool_.parallel_for(n, fn, grain);
    else fn(size_t(0), n);
}

// ---- memory ----------------------------------------------------------------------------------------------------

std::unique_ptr<Buffer> CpuBackend::alloc(size_t bytes) { return std::make_unique<HostBuffer>(bytes); }
void CpuBackend::upload(const Tensor& dst, const void* host) { std::memcpy(dst.data, host, dst.bytes()); }
void CpuBackend::download(const Tensor& src, void* host) { std::memcpy(host, src.data, src.bytes()); }

bool CpuBackend::same_memory_as(const Backend& other) const {
    const auto* cpu = dynamic_cast<const CpuBackend*>(&other);
    return cpu && cpu->kernels_.level == kernels_.level && cpu->int8_ == int8_ &&
           cpu->int8_float_models_ == int8_float_models_ && cpu->lm_head_ == lm_head_;
}

// ---- weights ---------------------------------------------------------------------------------------------------

TernaryWeight CpuBackend::prepare_ternary(const TernaryFileView& v, bool apply_scale, int act_bits) {
    TernaryWeight w;
    w.rows = v.rows;
    w.cols = v.cols;
    w.scale = v.scale;
    w.apply_scale = apply_scale;
    // The integer kernels compute act_bits 8 exactly (int32 sums); the scalar level keeps the float reference path.
    // A float model's rows are quantised the same way when the backend was asked to (int8_float_models).
    const bool quantised = act_bits == 8 || int8_float_models_;
    w.act = quantised ? (int8_ ? ActType::i8 : ActType::f32_fake_i8) : ActType::f32;
    // In place when the kernels take the stored layout (its rows start on any byte, so such kernels assume no
    // alignment); else repacked once into an aligned buffer in the level's layout.
    if (kernels_.file_layout) {
        w.data = v.packed;
        w.owner = v.owner;
        w.in_place = true;
        return w;
    }
    auto buffer = std::make_shared<HostBuffer>(kernels_.packed_bytes(v.rows, v.cols));
    kernels_.repack(v.packed, v.rows, v.cols, static_cast<uint8_t*>(buffer->data()));
    w.data = buffer->data();
    w.owner = std::move(buffer);
    return w;
}

DenseWeight CpuBackend::prepare_dense(const float* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    return DenseWeight{rows, cols, host, std::move(owner)};  // host memory is CPU memory: used in place
}

DenseWeight CpuBackend::prepare_dense_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    DenseWeight w;  // dense_matmul reads bf16 rows: used in place
    w.rows = rows;
    w.cols = cols;
    w.storage = DenseStorage::bf16;
    w.stored = host;
    w.owner = std::move(owner);
    return w;
}

DenseWeight CpuBackend::prepare_lm_head(const float* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    if (lm_head_ == DenseStorage::f32) return prepare_dense(host, rows, cols, std::move(owner));
    DenseWeight w;
    w.rows = rows;
    w.cols = cols;
    w.storage = lm_head_;
    const size_t n = rows * cols;
    if (lm_head_ == DenseStorage::bf16) {
        auto buffer = std::make_shared<HostBuffer>(n * sizeof(uint16_t));
        convert_rows_bf16(host, n, static_cast<uint16_t*>(buffer->data()));
        w.stored = buffer->data();
        w.owner = std::move(buffer);
        return w;
    }
    // i8: the factors after the int8 rows, 64-byte aligned.
    const size_t q_bytes = (n + 63) / 64 * 64;
    auto buffer = std::make_shared<HostBuffer>(q_bytes + rows * sizeof(float));
    auto* q = static_cast<int8_t*>(buffer->data());
    auto* scales = reinterpret_cast<float*>(static_cast<char*>(buffer->data()) + q_bytes);
    quantize_dense_rows_i8(host, rows, cols, q, scales);
    w.stored = q;
    w.row_scales = scales;
    w.owner = std::move(buffer);
    return w;
}

DenseWeight CpuBackend::prepare_lm_head_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
    // Storage f32 or bf16: the bf16 rows in place (zero copy). The products decode each weight to the float it is
    // and sum in the f32 product's order (kernels/cpu/dense_kernels.h), so f32 gets the bits of the widened table.
    if (lm_head_ != DenseStorage::i8) return prepare_dense_bf16(host, rows, cols, std::move(owner));
    // i8 quantises from floats: widened into a temporary the quantised copy replaces.
    std::vector<float> floats(rows * cols);
    for (size_t i = 0; i < floats.size(); ++i) floats[i] = from_bf16(host[i]);
    return prepare_lm_head(floats.data(), rows, cols, nullptr);
}

// ---- row-wise ops ----------------------------------------------------------------------------------------------

void CpuBackend::embed(const int32_t* tokens, const DenseWeight& table, const Tensor& out) {
    const size_t D = table.cols;
    if (table.storage == DenseStorage::bf16) {  // a bf16 embedding, widened one row per token (exact)
        const auto* rows = static_cast<const uint16_t*>(table.stored);
        for (size_t m = 0; m < out.rows; ++m) {
            const uint16_t* src = rows + size_t(tokens[m]) * D;
            float* dst = out.f32() + m * D;
            for (size_t c = 0; c < D; ++c) dst[c] = from_bf16(src[c]);
        }
        return;
    }
    for (size_t m = 0; m < out.rows; ++m) std::memcpy(out.f32() + m * D, table.data + size_t(tokens[m]) * D, D * 4);
}

void CpuBackend::rmsnorm(const Tensor& x, const DenseWeight& gain, float eps, const Tensor& y) {
    const size_t D = x.cols;
    parallel(x.rows, grain_for(D), [&](size_t b, size_t e) {
        for (size_t m = b; m < e; ++m) rmsnorm_ref(x.f32() + m * D, gain.data, D, eps, y.f32() + m * D);
    });
}

void CpuBackend::fake_quant_i8(const Tensor& x, const Tensor& y) {
    const size_t K = x.cols;
    parallel(x.rows, grain_for(K), [&](size_t b, size_t e) {
        for (size_t m = b; m < e; ++m) fake_quant_int8_ref(x.f32() + m * K, K, y.f32() + m * K);
    });
}

void CpuBackend::quantize_i8(const Tensor& x, const QuantTensor& out) {
    const size_t K = x.cols;
    parallel(x.rows, grain_for(K), [&](size_t b, size_t e) {
        quantize_rows_kernel(kernels_.level)(x.f32() + b * K, K, e - b, K, out.q.i8() + b * K, K, out.a.f32() + b);
    });
}

void CpuBackend::swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) {
    const size_t n = gate.rows * gate.cols;
    const SwigluFn kernel = swiglu_kernel(kernels_.level);
    parallel(n, kMinWorkPerChunk, [&](size_t b, size_t e) { kernel(gate.f32() + b, up.f32() + b, e - b, out.f32() + b); });
}

void CpuBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
    const size_t n = a.rows * a.cols;
    float* o = out.f32();
    const float *pa = a.f32(), *pb = b.f32();
    for (size_t i = 0; i < n; ++i) o[i] = pa[i] + pb[i];
}

void CpuBackend::l2_normalize(const Tensor& x, const Tensor& y) {
    const size_t d = x.cols;
    parallel(x.rows, grain_for(d), [&](size_t b, size_t e) {
        for (size_t m = b; m < e; ++m) l2_normalize_ref(x.f32() + m * d, d, y.f32() + m * d);
    });
}

void CpuBackend::gather_rows(const Tensor& x, const size_t* rows, size_t n, const Tensor& out) {
    const size_t bytes = x.cols * x.element_bytes();
    for (size_t i = 0; i < n; ++i)
        std::memcpy(static_cast<char*>(out.data) + i * bytes, static_cast<const char*>(x.data) + rows[i] * bytes, bytes);
}

// ---- products --------------------------------------------------------------------------------------------------

void CpuBackend::apply_scale(const TernaryWeight& w, const Tensor& y) {
    if (!w.apply_scale) return;
    float* p = y.f32();
    for (size_t i = 0; i < y.rows * y.cols; ++i) p[i] *= w.scale;
}

void CpuBackend::ternary_matmul(const TernaryWeight& w, const Tensor& x, const Tensor& y) {
    // Output rows in units of the kernel's row granule, split between threads: no sum is ever split.
    const size_t g = kernels_.row_granule, units = (w.rows + g - 1) / g;
    const auto* packed = static_cast<const uint8_t*>(w.data);
    parallel(units, grain_for(g * w.cols * x.rows), [&](size_t b, size_t e) {
        kernels_.gemm_f32(packed, w.rows, w.cols, x.f32(), x.cols, x.rows, y.f32(), y.cols, b * g,
                          std::min(w.rows, e * g));
    });
    apply_scale(w, y);
}

void CpuBackend::ternary_matmul(const TernaryWeight& w, const QuantTensor& x, const Tensor& y) {
    const size_t g = kernels_.row_granule, units = (w.rows + g - 1) / g;
    const auto* packed = static_cast<const uint8_t*>(w.data);
    parallel(units, grain_for(g * w.cols * x.q.rows), [&](size_t b, size_t e) {
        kernels_.gemm_i8(packed, w.rows, w.cols, x.q.i8(), x.q.cols, x.a.f32(), x.q.rows, y.f32(), y.cols, b * g,
                         std::min(w.rows, e * g));
    });
    apply_scale(w, y);
}

void CpuBackend::dense_matmul(const DenseWeight& w, const Tensor& x, const Tensor& y) {
    // Output columns (weight rows) split between threads; every element summed in the level's one order whatever M,
    // so a row of a batch gets the bits it gets alone (kernels/cpu/dense_kernels.h), in any storage format.
    const size_t M = x.rows, K = w.cols, N = w.rows;
    const DenseStoredMatmulFn product = dense_stored_matmul_kernel(kernels_.level);
    DenseMatrixView view;
    view.K = K;
    view.scales = w.row_scales;
    switch (w.storage) {
        case DenseStorage::f32: view.format = DenseFormat::f32, view.data = w.data; break;
        case DenseStorage::bf16: view.format = DenseFormat::bf16, view.data = w.stored; break;
        case DenseStorage::i8: view.format = DenseFormat::i8, view.data = w.stored; break;
    }
    // Chunks of whole 4-row blocks, so the split never changes which rows a kernel groups (it does not matter for
    // the bits, which depend only on K, but keeps the fast path on every thread).
    const size_t units = (N + 3) / 4;
    parallel(units, grain_for(4 * K * M), [&](size_t b, size_t e) {
        product(view, x.f32(), M, y.f32(), N, b * 4, std::min(N, e * 4));
    });
}

// ---- TTT -------------------------------------------------------------------------------------------------------

void CpuBackend::ttt_chunked(const Tensor& fhat, const Tensor& z, const SequenceRows* seqs, TttStateRef* states,
                             size_t n_seqs, size_t chunk, float lr) {
    // Work units: (sequence, block of fast-weight rows). Rows are independent through the whole recurrence
    // (kernels/cpu/ttt_ref.h), so one sequence's prefill also spreads over threads without any per-token sync.
    const size_t d = fhat.cols;
    const TttChunkedFn recurrence = ttt_chunked_kernel(kernels_.level);
    const size_t threads = size_t(pool_.size());
    const size_t blocks = n_seqs >= threads ? 1 : std::min(d, threads);
    parallel(n_seqs * blocks, 1, [&](size_t b, size_t e) {
        for (size_t u = b; u < e; ++u) {
            const size_t s = u / blocks, blk = u % blocks;
            const size_t i0 = d * blk / blocks, i1 = d * (blk + 1) / blocks;
            const SequenceRows& r = seqs[s];
            recurrence(fhat.f32() + r.row_begin * d, z.f32() + r.row_begin * d, r.n_rows, d, states[s].w,
                       states[s].pending, states[s].position, chunk, lr, i0, i1);
        }
    });
}

// ---- attention -------------------------------------------------------------------------------------------------

void CpuBackend::relu2_gated(const Tensor& gate, const Tensor& up, const Tensor& out) {
    const size_t n = gate.rows * gate.cols;
    parallel(n, kMinWorkPerChunk, [&](size_t b, size_t e) {
        relu2_gated_span<float>(gate.f32() + b, up.f32() + b, e - b, out.f32() + b);
    });
}

void CpuBackend::rope(const Tensor& x, size_t head_dim, const float* inv_freq, const SequenceRows* seqs,
                      const uint64_t* positions, size_t n_seqs) {
    const size_t heads = x.cols / head_dim;
    for (size_t s = 0; s < n_seqs; ++s) {
        const SequenceRows& r = seqs[s];
        parallel(r.n_rows, grain_for(x.cols), [&](size_t b, size_t e) {
            for (size_t i = b; i < e; ++i) {
                float* row = x.f32() + (r.row_begin + i) * x.cols;
                for (size_t h = 0; h < heads; ++h) rope_head_ref(row + h * head_dim, head_dim, inv_freq, positions[s] + i);
            }
        });
    }
}

namespace {

KvCacheView view_of(const KvCacheRef& c, const AttentionShape& shape) {
    KvCacheView v;
    v.type = shape.cache == KvCacheType::f32 ? KvType::f32 : shape.cache == KvCacheType::f16 ? KvType::f16 : KvType::i8;
    v.kv_heads = shape.kv_heads;
    v.head_dim = shape.head_dim;
    v.k = c.k;
    v.v = c.v;
    v.k_scale = c.k_scale;
    v.v_scale = c.v_scale;
    return v;
}

}  // namespace

void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, const SequenceRows* seqs,
                           const KvCacheRef* caches, size_t n_seqs, const AttentionShape& shape, const Tensor& out) {
    const size_t H = shape.heads, Hk = shape.kv_heads, hd = shape.head_dim, group = H / Hk;
    // The new rows go into the caches first (every query of the pass may read them), then each (sequence, row,
    // head) attends over its causal prefix: units independent of each other and of the thread count.
    for (size_t s = 0; s < n_seqs; ++s) {
        const KvCacheView c = view_of(caches[s], shape);
        const SequenceRows& r = seqs[s];
        for (size_t i = 0; i < r.n_rows; ++i) {
            const size_t pos = caches[s].position + i, row = r.row_begin + i;
            for (size_t h = 0; h < Hk; ++h) {
                const size_t slot = pos * Hk + h;
                kv_store_row_ref(k.f32() + row * k.cols + h * hd, hd, c.type, c.k + c.offset(pos, h),
                                 c.k_scale ? c.k_scale + slot : nullptr);
                kv_store_row_ref(v.f32() + row * v.cols + h * hd, hd, c.type, c.v + c.offset(pos, h),
                                 c.v_scale ? c.v_scale + slot : nullptr);
            }
        }
    }
    // Units: (sequence, row, kv head), each computing the query heads of its group.
    std::vector<size_t> unit_begin(n_seqs + 1, 0);  // units of sequence s: [unit_begin[s], unit_begin[s + 1])
    for (size_t s = 0; s < n_seqs; ++s) unit_begin[s + 1] = unit_begin[s] + seqs[s].n_rows * Hk;
    const uint64_t longest = [&] {
        uint64_t m = 0;
        for (size_t s = 0; s < n_seqs; ++s) m = std::max<uint64_t>(m, caches[s].position + seqs[s].n_rows);
        return m;
    }();
    if (kernels_.level != CpuLevel::scalar) {
        attention_fast(q, seqs, caches, n_seqs, shape, out, unit_begin);
        return;
    }
    parallel(unit_begin[n_seqs], grain_for(size_t(longest) * hd * 2 * group), [&](size_t b, size_t e) {
        std::vector<float> scratch(group * size_t(longest) + hd);
        size_t s = size_t(std::upper_bound(unit_begin.begin(), unit_begin.end(), b) - unit_begin.begin()) - 1;
        for (size_t u = b; u < e; ++u) {
            while (u >= unit_begin[s + 1]) ++s;
            const size_t local = u - unit_begin[s], i = local / Hk, kvh = local % Hk;
            const size_t row = seqs[s].row_begin + i;
            const KvCacheView c = view_of(caches[s], shape);
            attention_group_ref(q.f32() + row * q.cols + kvh * group * hd, group, c, kvh,
                                size_t(caches[s].position) + i + 1, out.f32() + row * out.cols + kvh * group * hd,
                                scratch.data());
        }
    });
}

// The SIMD levels (attention_kernels.h): a unit is a (sequence, row, kv head) as above. With at least two units per
// thread each runs whole on one thread (attention_group); with fewer (decode of one or a few sequences) the units'
// chunks of kAttentionChunk positions are spread over the threads and merged in order afterwards. Both merge the
// same partials in the same order, so a row's bits do not depend on which way it went.
void CpuBackend::attention_fast(const Tensor& q, const SequenceRows* seqs, const KvCacheRef* caches, size_t n_seqs,
                                const AttentionShape& shape, const Tensor& out, const std::vector<size_t>& unit_begin) {
    const size_t Hk = shape.kv_heads, hd = shape.head_dim, group = shape.heads / Hk;
    const AttentionChunkFn fn = attention_chunk_kernel(kernels_.level);
    const size_t units = unit_begin[n_seqs];
    struct Unit {
        const float* q;
        float* out;
        KvCacheView c;
        size_t kvh, n_keys;
    };
    auto unit_at = [&](size_t s, size_t u) {
        const size_t local = u - unit_begin[s], i = local / Hk, kvh = local % Hk, row = seqs[s].row_begin + i;
        return Unit{q.f32() + row * q.cols + kvh * group * hd, out.f32() + row * out.cols + kvh * group * hd,
                    view_of(caches[s], shape), kvh, size_t(caches[s].position) + i + 1};
    };
    std::vector<size_t> seq_of(units);
    for (size_t s = 0; s < n_seqs; ++s)
        for (size_t u = unit_begin[s]; u < unit_begin[s + 1]; ++u) seq_of[u] = s;
    const size_t threads = size_t(pool_.size());
    if (units >= 2 * threads || threads == 1) {
        parallel(units, 1, [&](size_t b, size_t e) {
            std::vector<float> work(attention_group_work_floats(group, hd));
            for (size_t u = b; u < e; ++u) {
                const Unit w = unit_at(seq_of[u], u);
                attention_group(fn, w.q, group, w.c, w.kvh, w.n_keys, w.out, work.data());
            }
        });
        return;
    }
    // Few units: every (unit, chunk) a task with its own partial.
    const size_t pf = attention_partial_floats(group, hd);
    std::vector<size_t> task_begin(units + 1, 0);
    for (size_t u = 0; u < units; ++u) task_begin[u + 1] = task_begin[u] + attention_chunks(unit_at(seq_of[u], u).n_keys);
    std::vector<float> partials(task_begin[units] * pf);
    parallel(task_begin[units], 1, [&](size_t b, size_t e) {
        std::vector<float> scratch(attention_scratch_floats(group, hd));
        size_t u = size_t(std::upper_bound(task_begin.begin(), task_begin.end(), b) - task_begin.begin()) - 1;
        for (size_t t = b; t < e; ++t) {
            while (t >= task_begin[u + 1]) ++u;
            const Unit w = unit_at(seq_of[u], u);
            const size_t j0 = (t - task_begin[u]) * kAttentionChunk, j1 = std::min(w.n_keys, j0 + kAttentionChunk);
            fn(w.q, group, w.c, w.kvh, j0, j1, attention_partial_at(partials.data() + t * pf, group, hd), scratch.data());
        }
    });
    for (size_t u = 0; u < units; ++u) {
        const AttentionPartial run = attention_partial_at(partials.data() + task_begin[u] * pf, group, hd);
        for (size_t t = task_begin[u] + 1; t < task_begin[u + 1]; ++t)
            attention_merge(run, attention_partial_at(partials.data() + t * pf, group, hd), group, hd);
        attention_finish(run, group, hd, unit_at(seq_of[u], u).out);
    }
}

void CpuBackend::ttt_delta(const Tensor& kr, const Tensor& v, const Tensor& qr, const Tensor& gates, const Tensor& out,
                           const SequenceRows* seqs, TttStateRef* states, size_t n_seqs, const DenseWeight& conv_k,
                           const DenseWeight& conv_q, const DenseWeight& gate_bias, size_t heads, float lr) {
    // One work unit per sequence and head (heads share nothing): the oracle's source compiled for this level, the
    // same bits at every level and for any split between threads.
    const size_t d = kr.cols, g = gates.cols;
    const TttDeltaFn recurrence = ttt_delta_kernel(kernels_.level);
    TttDeltaArgs p;
    p.d = d, p.heads = heads, p.conv_k = conv_k.data, p.conv_q = conv_q.data, p.gate_bias = gate_bias.data, p.lr = lr;
    parallel(n_seqs * heads, 1, [&](size_t b, size_t e) {
        for (size_t u = b; u < e; ++u) {
            const size_t s = u / heads, h = u % heads, r = seqs[s].row_begin;
            recurrence(p, kr.f32() + r * d, v.f32() + r * d, qr.f32() + r * d, gates.f32() + r * g, seqs[s].n_rows,
                       states[s].w, states[s].pending, out.f32() + r * d, h, h + 1);
        }
    });
}

}  // namespace ttt
