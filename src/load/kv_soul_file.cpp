#include "load/kv_soul_file.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "cpu/attention_ref.h"
#include "io/checksum.h"
#include "io/safetensors.h"

namespace ttt {

namespace {

constexpr char kFormat[] = "bit_ttt.kv_soul";
constexpr int kVersion = 1;
constexpr char kCrcKey[] = "crc32c";

DType dtype_of(KvCacheType t) { return t == KvCacheType::f32 ? DType::F32 : t == KvCacheType::f16 ? DType::F16 : DType::I8; }
KvType kernel_type(KvCacheType t) { return t == KvCacheType::f32 ? KvType::f32 : t == KvCacheType::f16 ? KvType::f16 : KvType::i8; }

bool parse_u64(const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const uint64_t next = v * 10 + uint64_t(c - '0');
        if (next / 10 != v) return false;
        v = next;
    }
    *out = v;
    return true;
}

// CRC-32C over "key=value\n" for every metadata entry but the CRC (map order), then each tensor's
// "name|dtype|shape\n" and bytes, in directory order.
uint32_t image_crc(const SafetensorsView& st) {
    std::string digest;
    for (const auto& kv : st.metadata)
        if (kv.first != kCrcKey) digest += kv.first + "=" + kv.second + "\n";
    uint32_t crc = crc32c(digest.data(), digest.size());
    for (const TensorView& t : st.tensors) {
        const std::string line = t.name + "|" + dtype_name(t.dtype) + "|" + shape_string(t.shape) + "\n";
        crc = crc32c(line.data(), line.size(), crc);
        crc = crc32c(t.data, t.n_bytes, crc);
    }
    return crc;
}

std::string hex32(uint32_t v) { return hex64(v).substr(8); }

}  // namespace

std::vector<uint8_t> kv_soul_to_bytes(const SoulState& soul, const ModelConfig& c, uint64_t fingerprint) {
    const KvCache& kv = soul.kv;
    if (!kv.configured()) throw Error(TTT_ERR_INVALID_STATE, "the context has no KV cache to save");
    const int64_t P = int64_t(soul.position), Hk = int64_t(kv.kv_heads), hd = int64_t(kv.head_dim);
    const size_t bytes = size_t(P) * size_t(Hk) * kv.row_bytes();
    SafetensorsWriter out;
    // The rows in use, copied from where the cache lives (the writer keeps its own copy of each tensor).
    std::vector<uint8_t> host;
    auto add_rows = [&](const std::string& name, DType type, std::vector<int64_t> shape, const StateBlock& b, size_t n) {
        host.resize(n);
        b.read(host.data(), 0, n);
        out.add(name, type, std::move(shape), host.data(), n);
    };
    for (int32_t l = 0; l < c.num_layers; ++l) {
        const std::string i = std::to_string(l);
        add_rows("k." + i, dtype_of(kv.type), {P, Hk, hd}, kv.k[size_t(l)], bytes);
        add_rows("v." + i, dtype_of(kv.type), {P, Hk, hd}, kv.v[size_t(l)], bytes);
        if (kv.type == KvCacheType::i8) {
            add_rows("k_scale." + i, DType::F32, {P, Hk}, kv.k_scale[size_t(l)], size_t(P * Hk) * 4);
            add_rows("v_scale." + i, DType::F32, {P, Hk}, kv.v_scale[size_t(l)], size_t(P * Hk) * 4);
        }
    }
    out.set_metadata("format", kFormat);
    out.set_metadata("format_version", std::to_string(kVersion));
    out.set_metadata("fingerprint", hex64(fingerprint));
    out.set_metadata("architecture", architecture_name(c.arch));
    out.set_metadata("num_layers", std::to_string(c.num_layers));
    out.set_metadata("kv_heads", std::to_string(Hk));
    out.set_metadata("head_dim", std::to_string(hd));
    out.set_metadata("kv_cache_type", KvCache::type_name(kv.type));
    out.set_metadata("position", std::to_string(P));
    out.set_metadata("soul_level", std::to_string(soul.level));
    // The CRC covers the finished image: build once with a placeholder of the same length, digest, build again.
    out.set_metadata(kCrcKey, "00000000");
    const std::vector<uint8_t> draft = out.finish();
    out.set_metadata(kCrcKey, hex32(image_crc(parse_safetensors(draft.data(), draft.size(), "soul"))));
    return out.finish();
}

void kv_soul_from_bytes(const uint8_t* data, size_t size, const ModelConfig& c, uint64_t fingerprint, SoulState* out,
                        const std::string& what) {
    const SafetensorsView st = parse_safetensors(data, size, what);
    auto meta = [&](const char* key) -> std::string {
        auto it = st.metadata.find(key);
        if (it == st.metadata.end()) fail_format(what + ": metadata \"" + key + "\" is missing");
        return it->second;
    };
    auto meta_u64 = [&](const char* key) {
        uint64_t v = 0;
        if (!parse_u64(meta(key), &v)) fail_format(what + ": metadata \"" + key + "\" is not a number");
        return v;
    };
    auto fmt = st.metadata.find("format");
    if (fmt == st.metadata.end() || fmt->second != kFormat)
        fail_incompatible(what + ": not the soul of an attention model (format \"" +
                          (fmt == st.metadata.end() ? std::string() : fmt->second) + "\"); this " +
                          architecture_name(c.arch) + " model's souls are KV caches (\"" + kFormat + "\")");
    if (meta("format_version") != std::to_string(kVersion))
        fail_format(what + ": kv soul format_version " + meta("format_version") + " is not supported (1)");
    uint64_t crc = 0;
    if (!parse_hex64("00000000" + meta(kCrcKey), &crc) || uint32_t(crc) != image_crc(st))
        fail_format(what + ": the checksum does not match (the file is damaged)");
    uint64_t fp = 0;
    if (!parse_hex64(meta("fingerprint"), &fp)) fail_format(what + ": metadata \"fingerprint\" is not 16 hex digits");
    if (fp != fingerprint)
        fail_incompatible(what + ": this KV cache was made by another model (fingerprint " + meta("fingerprint") +
                          ", this model " + hex64(fingerprint) + ")");

    KvCache kv = out->kv;  // the context's type and length
    if (!kv.configured()) throw Error(TTT_ERR_INVALID_STATE, "the context has no KV cache to load into");
    const uint64_t P = meta_u64("position");
    const size_t Hk = kv.kv_heads, hd = kv.head_dim;
    if (meta_u64("num_layers") != uint64_t(c.num_layers) || meta_u64("kv_heads") != Hk || meta_u64("head_dim") != hd)
        fail_format(what + ": its dimensions contradict its fingerprint's model");
    if (P > kv.capacity)
        throw Error(TTT_ERR_INVALID_STATE, what + ": holds " + std::to_string(P) + " tokens, more than this context's KV cache length " +
                                               std::to_string(kv.capacity) + " (create the context with a larger n_ctx)");
    const std::string type_name = meta("kv_cache_type");
    KvCacheType file_type;
    if (type_name == "f32") file_type = KvCacheType::f32;
    else if (type_name == "f16") file_type = KvCacheType::f16;
    else if (type_name == "int8") file_type = KvCacheType::i8;
    else fail_format(what + ": kv_cache_type \"" + type_name + "\" is unknown");

    kv.clear();
    kv.reserve(P);
    const std::vector<int64_t> shape{int64_t(P), int64_t(Hk), int64_t(hd)}, scale_shape{int64_t(P), int64_t(Hk)};
    KvCache file_view;  // row geometry of the file's type
    file_view.type = file_type;
    file_view.head_dim = hd;
    std::vector<float> row(hd);
    for (int32_t l = 0; l < c.num_layers; ++l) {
        const std::string i = std::to_string(l);
        for (const char* part : {"k", "v"}) {
            const std::string name = std::string(part) + "." + i, scale_name = std::string(part) + "_scale." + i;
            const TensorView* t = st.find(name);
            if (!t || t->dtype != dtype_of(file_type) || t->shape != shape)
                fail_format(what + ": tensor '" + name + "' is missing or not " + dtype_name(dtype_of(file_type)) + " " +
                            shape_string(shape));
            const TensorView* s = nullptr;
            if (file_type == KvCacheType::i8) {
                s = st.find(scale_name);
                if (!s || s->dtype != DType::F32 || s->shape != scale_shape)
                    fail_format(what + ": tensor '" + scale_name + "' is missing or not F32 " + shape_string(scale_shape));
            }
            // Decoded into host staging, then written to the cache where it lives (its backend's memory).
            std::vector<uint8_t> rows_host(size_t(P) * Hk * kv.row_bytes());
            std::vector<float> scales_host(kv.type == KvCacheType::i8 ? size_t(P) * Hk : 0);
            uint8_t* dst = rows_host.data();
            float* dst_scale = kv.type == KvCacheType::i8 ? scales_host.data() : nullptr;
            // Every row is decoded and checked; the same type is copied as it is (exact resume), another type is
            // re-encoded in the context's type.
            const bool same = file_type == kv.type;
            for (size_t r = 0; r < size_t(P) * Hk; ++r) {
                float sc = 1.0f;
                if (s) std::memcpy(&sc, s->data + r * 4, 4);
                if (s && !(std::isfinite(sc) && sc > 0.0f)) fail_format(what + ": tensor '" + scale_name + "' holds a bad factor");
                const uint8_t* src = t->data + r * file_view.row_bytes();
                kv_load_row_ref(src, sc, hd, kernel_type(file_type), row.data());
                for (float x : row)
                    if (!std::isfinite(x)) fail_format(what + ": tensor '" + name + "' holds a non-finite value");
                if (same) {
                    std::memcpy(dst + r * kv.row_bytes(), src, kv.row_bytes());
                    if (dst_scale) dst_scale[r] = sc;
                } else {
                    kv_store_row_ref(row.data(), hd, kernel_type(kv.type), dst + r * kv.row_bytes(), dst_scale ? dst_scale + r : nullptr);
                }
            }
            (part[0] == 'k' ? kv.k : kv.v)[size_t(l)].write(rows_host.data(), 0, rows_host.size());
            if (dst_scale)
                (part[0] == 'k' ? kv.k_scale : kv.v_scale)[size_t(l)].write(scales_host.data(), 0,
                                                                            scales_host.size() * sizeof(float));
        }
    }
    out->kv = std::move(kv);
    out->position = P;
    out->level = meta_u64("soul_level");
}

}  // namespace ttt
