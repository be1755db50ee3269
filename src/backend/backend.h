// The backend seam (DESIGN §1, docs/architecture.md). The model composes these operations on tensors that live in
// a backend's memory and never touches that memory itself: the CPU backend's memory happens to be host memory, a
// CUDA backend's is device memory, and the same model code drives both.
//
// What a backend provides:
//   - buffers it owns (alloc) and the only two doors between them and the host (upload, download), plus sync;
//   - weights prepared once per model (prepare_ternary / prepare_dense): uploaded, or repacked into the layout its
//     kernels prefer, or used in place when the stored layout is already the one they take (zero copy);
//   - operations over a batch of M rows (one row per token; the tokens of many sequences side by side), each
//     declared by supports(op), so a planner can place a layer only where all its ops run;
//   - the TTT recurrence, per sequence of the batch, on fast-weight states that live in its memory.
// Every op computes each output element in one fixed order whatever the thread count, so results are bit-identical
// for any n_threads on a given backend and kernel level.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace ttt {

enum class ElemType : uint8_t { f32, i8 };

// A row-major [rows, cols] matrix in a backend's memory (contiguous: row r starts at r·cols).
struct Tensor {
    void* data = nullptr;
    ElemType type = ElemType::f32;
    size_t rows = 0, cols = 0;

    Tensor() = default;
    Tensor(void* p, ElemType t, size_t r, size_t c) : data(p), type(t), rows(r), cols(c) {}
    size_t element_bytes() const { return type == ElemType::f32 ? 4 : 1; }
    size_t bytes() const { return rows * cols * element_bytes(); }
    // Rows [r0, r0 + n) of this matrix.
    Tensor slice_rows(size_t r0, size_t n) const {
        return {static_cast<char*>(data) + r0 * cols * element_bytes(), type, n, cols};
    }
    // The same memory seen as [rows', cols'] with rows'·cols' ≤ rows·cols (workspace reuse).
    Tensor reshape(size_t r, size_t c) const { return {data, type, r, c}; }
    float* f32() const { return static_cast<float*>(data); }
    int8_t* i8() const { return static_cast<int8_t*>(data); }
};

// Quantised activations, a first-class op output: q[m, c] and the per-row factor a[m] with x ≈ q / a.
struct QuantTensor {
    Tensor q;  // i8 [rows, cols]
    Tensor a;  // f32 [rows, 1]
};

// The activation type a ternary weight's kernels take (a weight type declares it, as ggml's TQ2_0 declares Q8_K).
enum class ActType : uint8_t {
    f32,          // float rows as they are (act_bits 0)
    f32_fake_i8,  // float rows fake-quantised to the int8 grid in float (act_bits 8, the reference path)
    i8,           // int8 rows with their factor (act_bits 8, the integer kernels; same values, exact int32 sums)
};

// A ternary matrix as stored in a file (kernels/ternary_format.h), possibly inside a memory-mapped file.
struct TernaryFileView {
    const uint8_t* packed = nullptr;
    size_t rows = 0, cols = 0;  // out, in
    float scale = 0.0f;         // absmean s
    // Keeps `packed` alive (the mapped file or the loaded weights); shared by every weight prepared in place.
    std::shared_ptr<const void> owner;
};

// A ternary weight prepared by a backend: y = Q·x (· s when apply_scale).
struct TernaryWeight {
    size_t rows = 0, cols = 0;
    float scale = 0.0f;
    bool apply_scale = false;
    ActType act = ActType::f32;
    const void* data = nullptr;          // backend memory, in the backend's layout
    std::shared_ptr<const void> owner;   // the memory behind data (a backend buffer, or the file when in place)
    bool in_place = false;               // data points into the file view (zero copy)
};

// How a backend stores a dense product weight (the LM head; prepare_lm_head). f32: the floats as loaded; bf16:
// rounded to bfloat16 (half the bytes); i8: per-row absmax int8 with one float factor per row (a quarter).
// docs/performance.md "Ternary kernels" has their speed and their cost in held-out bits/byte.
enum class DenseStorage : uint8_t { f32, bf16, i8 };

// A dense float matrix [rows, cols] (embedding, LM head, norm gains as [1, n]) prepared by a backend.
struct DenseWeight {
    size_t rows = 0, cols = 0;
    const float* data = nullptr;  // the floats (storage f32); nullptr when only `stored` holds the matrix
    std::shared_ptr<const void> owner;
    DenseStorage storage = DenseStorage::f32;
    const void* stored = nullptr;         // storage bf16 / i8: the backend's copy in that format
    const float* row_scales = nullptr;    // storage i8: one factor per row
};

// Rows [row_begin, row_begin + n_rows) of a batch belong to one sequence, in order.
struct SequenceRows {
    size_t row_begin = 0, n_rows = 0;
};

// One sequence's TTT state for one layer, in the backend's memory: the applied fast weights W (d×d), the running
// sum of the open chunk's inner gradients (d×d), and the number of tokens seen since reset (chunk boundaries).
// The delta kind uses w for its H heads' fast weights (H·dh²) and pending for its token-mixing tail (3·2d).
struct TttStateRef {
    float* w = nullptr;
    float* pending = nullptr;
    uint64_t position = 0;
};

// Attention models (arch llama, bitnet): one layer's KV cache of one sequence, in the backend's memory. Rows
// [position, kv_head] of head_dim elements of `type`, K and V apart; int8 rows carry one factor each (x ≈ q·scale).
enum class KvCacheType : uint8_t { f32, f16, i8 };

struct KvCacheRef {
    uint8_t* k = nullptr;
    uint8_t* v = nullptr;
    float* k_scale = nullptr;  // i8 only: [position, kv_head]
    float* v_scale = nullptr;
    uint64_t position = 0;     // rows already cached; the sequence's new rows go to [position, position + n)
};

struct AttentionShape {
    size_t heads = 0, kv_heads = 0, head_dim = 0;  // heads a multiple of kv_heads (grouped-query attention)
    KvCacheType cache = KvCacheType::f16;
};

enum class Op {
    embed,           // rows of a dense table by token id (a bf16 table widened one row per token)
    rmsnorm,         // y = x / sqrt(mean(x²) + eps) · g
    fake_quant_i8,   // x' = q / a in float
    quantize_i8,     // (q, a)
    ternary_f32,     // Y = X·Qᵀ (· s)
    ternary_i8,      // Y = (Q8·Qᵀ) / a (· s)
    dense_matmul,    // Y = X·Wᵀ, W dense float
    swiglu,          // silu(g) ⊙ u
    add,             // a + b
    l2_normalize,    // x / (‖x‖₂ + 1e-6)
    ttt_chunked,     // DESIGN §2's chunked fast-weight recurrence, per sequence
    gather_rows,     // rows by index
    rope,            // rotary position embedding (rotate-half) per head, at each row's position
    attention,       // append K/V rows to each sequence's cache; causal grouped-query attention over the cache
    relu2_gated,     // relu(g)² ⊙ u
    ttt_delta,       // the delta kind's per-token recurrence (kernels/cpu/ttt_delta_ref.h), per sequence
};

class Buffer {
public:
    virtual ~Buffer() = default;
    virtual void* data() = 0;
    virtual size_t bytes() const = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual const char* name() const = 0;
    // Whether the backend runs `op` on activations of type `act` (for the ternary products: the weight's ActType).
    virtual bool supports(Op op, ActType act = ActType::f32) const = 0;

    // ---- memory ------------------------------------------------------------------------------------------------
    virtual std::unique_ptr<Buffer> alloc(size_t bytes) = 0;
    virtual void upload(const Tensor& dst, const void* host) = 0;    // host → backend, dst.bytes() bytes
    virtual void download(const Tensor& src, void* host) = 0;        // backend → host
    virtual void sync() = 0;                                         // every op issued so far has completed

    // ---- weights, prepared once per model ----------------------------------------------------------------------
    // act_bits of the model decides the activation type; the backend picks what its kernels take.
    virtual TernaryWeight prepare_ternary(const TernaryFileView& w, bool apply_scale, int act_bits) = 0;
    virtual DenseWeight prepare_dense(const float* host, size_t rows, size_t cols,
                                      std::shared_ptr<const void> owner) = 0;
    // A dense weight held as bfloat16 (a Llama projection from a bf16 checkpoint: 2 bytes per weight, exact). By
    // default widened to floats (a copy the result owns); a backend whose dense_matmul reads bf16 uses it in place.
    virtual DenseWeight prepare_dense_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner);
    // The LM head, the one dense weight only dense_matmul reads: a backend may store it in a smaller format
    // (DenseStorage) it was configured for. By default it is prepared like any dense weight.
    virtual DenseWeight prepare_lm_head(const float* host, size_t rows, size_t cols, std::shared_ptr<const void> owner) {
        return prepare_dense(host, rows, cols, std::move(owner));
    }
    // The LM head from bfloat16 (a tied head over a bf16 embedding). By default widened to floats (a copy the
    // result owns) and prepared by prepare_lm_head; a backend whose dense_matmul reads bf16 uses it in place.
    virtual DenseWeight prepare_lm_head_bf16(const uint16_t* host, size_t rows, size_t cols, std::shared_ptr<const void> owner);
    // Whether two backends can use each other's prepared weights and tensors directly (same memory space and
    // weight layout); if not, the model moves activations through download/upload at a layer boundary.
    virtual bool same_memory_as(const Backend& other) const = 0;
    // Whether this backend's buffers are host memory (ops could then run on state blocks kept in plain host memory,
    // model/state_block.h).
    virtual bool memory_is_host() const { return false; }

    // ---- operations on M rows ----------------------------------------------------------------------------------
    virtual void embed(const int32_t* tokens_host, const DenseWeight& table, const Tensor& out) = 0;
    virtual void rmsnorm(const Tensor& x, const DenseWeight& gain, float eps, const Tensor& y) = 0;
    virtual void fake_quant_i8(const Tensor& x, const Tensor& y) = 0;
    virtual void quantize_i8(const Tensor& x, const QuantTensor& out) = 0;
    virtual void ternary_matmul(const TernaryWeight& w, const Tensor& x, const Tensor& y) = 0;       // act f32*
    virtual void ternary_matmul(const TernaryWeight& w, const QuantTensor& x, const Tensor& y) = 0;  // act i8
    virtual void dense_matmul(const DenseWeight& w, const Tensor& x, const Tensor& y) = 0;
    virtual void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) = 0;
    virtual void add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
    virtual void l2_normalize(const Tensor& x, const Tensor& y) = 0;
    // For each sequence s: rows seqs[s] of fhat (d wide) predict z = W·f̂ with the chunk-start state, accumulate
    // (z − f̂)·f̂ᵀ into pending, and apply W ← W − lr·pending when a chunk of `chunk` tokens (counted from
    // position) closes. states[s] advances by seqs[s].n_rows.
    virtual void ttt_chunked(const Tensor& fhat, const Tensor& z, const SequenceRows* seqs, TttStateRef* states,
                             size_t n_seqs, size_t chunk, float lr) = 0;
    // Delta kind (kernels/cpu/ttt_delta_ref.h): for each sequence s, rows seqs[s] of the raw keys, values, raw
    // queries (d wide) and gate logits (2H wide) run the per-token recurrence on states[s] (w: fast weights,
    // pending: token-mixing tail) and write out (d wide). conv_k, conv_q [d, 4], gate_bias [1, 2H].
    virtual void ttt_delta(const Tensor& kr, const Tensor& v, const Tensor& qr, const Tensor& gates, const Tensor& out,
                           const SequenceRows* seqs, TttStateRef* states, size_t n_seqs, const DenseWeight& conv_k,
                           const DenseWeight& conv_q, const DenseWeight& gate_bias, size_t heads, float lr) = 0;
    // out row i = x row rows_host[i].
    virtual void gather_rows(const Tensor& x, const size_t* rows_host, size_t n, const Tensor& out) = 0;

    // ---- attention models (arch llama, bitnet) ---------------------------------------------------------------
    // Defaults do nothing: a backend without them must say so in supports() (the model checks before use).
    // x [M, n_heads·head_dim] in place: row r of sequence s (r-th of its rows) rotated at position
    // positions_host[s] + r with the frequencies inv_freq_host[head_dim/2] (llama3 scaling already applied).
    virtual void rope(const Tensor& x, size_t head_dim, const float* inv_freq_host, const SequenceRows* seqs,
                      const uint64_t* positions_host, size_t n_seqs) {
        (void)x, (void)head_dim, (void)inv_freq_host, (void)seqs, (void)positions_host, (void)n_seqs;
    }
    // For each sequence s: store rows seqs[s] of k, v [M, kv_heads·head_dim] into caches[s] at its position, then
    // out [M, heads·head_dim] = softmax(q·Kᵀ/√hd)·V per head over the cached positions up to each row's own
    // (causal), query head h reading kv head h / (heads / kv_heads). The caller advances the positions.
    virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, const SequenceRows* seqs,
                           const KvCacheRef* caches, size_t n_seqs, const AttentionShape& shape, const Tensor& out) {
        (void)q, (void)k, (void)v, (void)seqs, (void)caches, (void)n_seqs, (void)shape, (void)out;
    }
    virtual void relu2_gated(const Tensor& gate, const Tensor& up, const Tensor& out) { (void)gate, (void)up, (void)out; }
};

}  // namespace ttt
