#include "load/soul_file.h"

#include "load/kv_soul_file.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/log.h"
#include "io/checksum.h"
#include "io/safetensors.h"

namespace ttt {

namespace {

// 3: adds meta_crc32c (covers every metadata value, the tensor directory and meta_config). 2 is still read.
constexpr int kSoulVersion = 3;
constexpr char kMetaCrcKey[] = "meta_crc32c";

std::string hex32(uint32_t v) { return hex64(v).substr(8); }

// The text meta_crc32c is the CRC-32C of: one line "key=value\n" per metadata entry except meta_crc32c (byte order),
// then one line "name|dtype|shape|begin|end\n" per tensor in file order (offsets relative to the data region), then
// the bytes of meta_config. Together with state_crc32c this covers every byte that decides how the soul is read.
uint32_t meta_crc(const SafetensorsView& st, const uint8_t* image) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | image[i];
    const uint8_t* region = image + 8 + n;  // parse_safetensors checked that this lies inside the image
    std::string digest;
    for (const auto& kv : st.metadata)
        if (kv.first != kMetaCrcKey) digest += kv.first + "=" + kv.second + "\n";
    for (const TensorView& t : st.tensors) {
        const size_t begin = size_t(t.data - region);
        digest += t.name + "|" + dtype_name(t.dtype) + "|" + shape_string(t.shape) + "|" + std::to_string(begin) + "|" +
                  std::to_string(begin + t.n_bytes) + "\n";
    }
    uint32_t crc = crc32c(digest.data(), digest.size());
    if (const TensorView* meta = st.find("meta_config")) crc = crc32c(meta->data, meta->n_bytes, crc);
    return crc;
}

uint32_t state_crc(const SoulState& s) {
    uint32_t crc = 0;
    for (int32_t i = 0; i < s.num_layers; ++i) {
        for (const StateBlock* b : {&s.w[size_t(i)], &s.pending[size_t(i)]}) {
            const std::vector<float> host = b->to_floats();
            crc = crc32c(host.data(), host.size() * sizeof(float), crc);
        }
    }
    return crc;
}

bool meta_u64(const SafetensorsView& st, const std::string& key, uint64_t* out) {
    auto it = st.metadata.find(key);
    if (it == st.metadata.end()) return false;
    const std::string& s = it->second;
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t next = v * 10 + uint64_t(c - '0');
        if (next / 10 != v) return false;
        v = next;
    }
    *out = v;
    return true;
}

// dims_confirmed: meta_config already matched this model, so a wrong shape means the file contradicts itself
// (format error); without that, a wrong shape is a soul of another model (incompatible).
std::vector<float> read_matrix(const SafetensorsView& st, const std::string& name, int32_t d, bool dims_confirmed,
                               const std::string& what) {
    const TensorView* t = st.find(name);
    if (!t) fail_format(what + ": missing tensor '" + name + "'");
    const std::vector<int64_t> flat{d, d}, batched{1, d, d};
    if (t->shape != flat && t->shape != batched)
        throw Error(dims_confirmed ? TTT_ERR_FORMAT : TTT_ERR_INCOMPATIBLE,
                    what + ": tensor '" + name + "' has shape " + shape_string(t->shape) + ", this model's soul needs [" +
                        std::to_string(d) + ", " + std::to_string(d) + "]");
    if (t->dtype != DType::F32) fail_format(what + ": tensor '" + name + "' has dtype " + dtype_name(t->dtype) + ", expected F32");
    return tensor_to_f32(*t, what);
}

// The delta kind's state tensors (docs/memory.md): w_state.{i} F32 [H, dh, dh], mix_tail.{i} F32 [3, 2d].
std::vector<float> read_shaped(const SafetensorsView& st, const std::string& name, const std::vector<int64_t>& shape,
                               const std::string& what) {
    const TensorView* t = st.find(name);
    if (!t) fail_format(what + ": missing tensor '" + name + "'");
    if (t->shape != shape)
        fail_format(what + ": tensor '" + name + "' has shape " + shape_string(t->shape) + ", expected " + shape_string(shape));
    if (t->dtype != DType::F32) fail_format(what + ": tensor '" + name + "' has dtype " + dtype_name(t->dtype) + ", expected F32");
    return tensor_to_f32(*t, what);
}

std::vector<int64_t> delta_w_shape(const ModelConfig& c) {
    const int64_t H = c.ttt_heads, dh = c.ttt_dim() / c.ttt_heads;
    return {H, dh, dh};
}
std::vector<int64_t> delta_tail_shape(const ModelConfig& c) { return {3, 2 * int64_t(c.ttt_dim())}; }

}  // namespace

std::vector<uint8_t> soul_to_bytes(const SoulState& soul, const ModelConfig& c, uint64_t fingerprint) {
    if (c.is_attention()) return kv_soul_to_bytes(soul, c, fingerprint);  // a KV cache (load/kv_soul_file.h)
    SafetensorsWriter out;
    const int64_t d = soul.dim;
    for (int32_t i = 0; i < soul.num_layers; ++i) {
        if (c.is_delta()) {
            out.add_f32("w_state." + std::to_string(i), delta_w_shape(c), soul.w[size_t(i)].to_floats());
            out.add_f32("mix_tail." + std::to_string(i), delta_tail_shape(c), soul.pending[size_t(i)].to_floats());
            continue;
        }
        out.add_f32("w_state." + std::to_string(i), {1, d, d}, soul.w[size_t(i)].to_floats());
        out.add_f32("pending." + std::to_string(i), {d, d}, soul.pending[size_t(i)].to_floats());
    }
    const uint32_t meta[4] = {uint32_t(c.hidden_dim), uint32_t(c.num_layers), uint32_t(soul.level >> 32),
                              uint32_t(soul.level & 0xffffffffu)};
    out.add("meta_config", DType::U32, {4}, meta, sizeof meta);
    out.set_metadata("format", "bit_ttt.soul");
    out.set_metadata("format_version", std::to_string(kSoulVersion));
    out.set_metadata("fingerprint", hex64(fingerprint));
    out.set_metadata("hidden_dim", std::to_string(c.hidden_dim));
    out.set_metadata("num_layers", std::to_string(c.num_layers));
    out.set_metadata("ttt_dim", std::to_string(c.ttt_dim()));
    out.set_metadata("ttt_chunk", std::to_string(c.ttt_chunk));
    if (c.is_delta()) {  // upstream-kind souls stay exactly as before (no ttt_kind key)
        out.set_metadata("ttt_kind", "delta");
        out.set_metadata("ttt_heads", std::to_string(c.ttt_heads));
    }
    out.set_metadata("position", std::to_string(soul.position));
    out.set_metadata("soul_level", std::to_string(soul.level));
    out.set_metadata("state_crc32c", hex32(state_crc(soul)));
    // meta_crc32c covers the finished header, so build the image once with a placeholder of the same length, digest
    // it, then build it again with the real value (same length, so the same layout).
    out.set_metadata(kMetaCrcKey, "00000000");
    const std::vector<uint8_t> draft = out.finish();
    out.set_metadata(kMetaCrcKey, hex32(meta_crc(parse_safetensors(draft.data(), draft.size(), "soul"), draft.data())));
    return out.finish();
}

namespace {

// A soul is a safetensors image: its JSON header starts at byte 8. Saying "not a soul file" for anything else beats
// reporting the first 8 bytes of, say, a text file as an absurd header length.
void check_header_start(const uint8_t* data, size_t size, const std::string& what) {
    if (size > 8 && data[8] != '{' && data[8] != ' ' && data[8] != '\t' && data[8] != '\n' && data[8] != '\r')
        fail_format(what + ": not a soul file: a soul is a safetensors image whose JSON header starts at byte 8 "
                    "with '{'");
}

// Whether the soul is ours (true) or upstream's (false). Upstream souls carry no metadata and no pending sums.
// Anything else must say it is ours, so a damaged format key can never make one of our souls load as an upstream
// one (which would drop its pending sums and position).
bool is_our_soul(const SafetensorsView& st, const std::string& what) {
    auto fmt = st.metadata.find("format");
    const bool ours = fmt != st.metadata.end() && fmt->second == "bit_ttt.soul";
    if (fmt != st.metadata.end() && !ours) fail_format(what + ": not a soul file (format \"" + fmt->second + "\")");
    if (!ours && (!st.metadata.empty() || st.find("pending.0")))
        fail_format(what + ": not a soul file, or a damaged one: it has metadata or pending sums but no format "
                    "\"bit_ttt.soul\"");
    return ours;
}

// Checked whatever format_version says, so damage cannot skip it.
void check_meta_crc(const SafetensorsView& st, const uint8_t* data, const std::string& what) {
    auto crc_it = st.metadata.find(kMetaCrcKey);
    if (crc_it == st.metadata.end()) return;
    uint64_t stored = 0;
    if (crc_it->second.size() != 8 || !parse_hex64(crc_it->second, &stored))
        fail_format(what + ": metadata meta_crc32c must be 8 hex digits");
    const uint32_t actual = meta_crc(st, data);
    if (actual != stored)
        fail_format(what + ": checksum mismatch in the soul's metadata (meta_crc32c is " + hex32(actual) +
                    ", the file says " + crc_it->second + "; the file is corrupted)");
}

// meta_config = [hidden_dim, num_layers, level_hi, level_lo] (upstream V030; the oldest souls have 2 entries): checks
// the dimensions and takes the level. Returns whether it was there (the dimensions are then confirmed).
bool read_meta_config(const SafetensorsView& st, const ModelConfig& c, bool ours, SoulState* soul,
                      const std::string& what) {
    const TensorView* meta = st.find("meta_config");
    if (!meta) {
        if (!ours) log_warn(what + ": upstream soul without meta_config; dimensions checked from the tensors only");
        return false;
    }
    if (meta->dtype != DType::U32 || meta->shape.size() != 1 || meta->n_elements < 2)
        fail_format(what + ": meta_config must be U32 [2] or [4], found " + dtype_name(meta->dtype) + " " + shape_string(meta->shape));
    uint32_t v[4] = {0, 0, 0, 0};
    std::memcpy(v, meta->data, std::min<size_t>(meta->n_bytes, sizeof v));
    if (int64_t(v[0]) != c.hidden_dim || int64_t(v[1]) != c.num_layers)
        fail_incompatible(what + ": the soul is for hidden_dim " + std::to_string(v[0]) + " and num_layers " +
                          std::to_string(v[1]) + ", this model has hidden_dim " + std::to_string(c.hidden_dim) +
                          " and num_layers " + std::to_string(c.num_layers));
    if (meta->n_elements >= 4) soul->level = (uint64_t(v[2]) << 32) | v[3];
    return true;
}

// What our souls' metadata records.
struct SoulMeta {
    uint64_t fingerprint = 0, position = 0, level = 0, state_crc = 0;
    uint64_t hidden_dim = 0, num_layers = 0, ttt_dim = 0, chunk = 0;
};

SoulMeta read_soul_meta(const SafetensorsView& st, const std::string& what) {
    SoulMeta m;
    uint64_t version = 0;
    if (!meta_u64(st, "format_version", &version)) fail_format(what + ": metadata format_version missing or invalid");
    if (version > uint64_t(kSoulVersion))
        fail_unsupported(what + ": soul format_version " + std::to_string(version) + " is newer than this library (" +
                         std::to_string(kSoulVersion) + ")");
    auto fp_it = st.metadata.find("fingerprint");
    if (fp_it == st.metadata.end() || !parse_hex64(fp_it->second, &m.fingerprint))
        fail_format(what + ": metadata fingerprint missing or invalid");
    auto crc_it = st.metadata.find("state_crc32c");
    if (!meta_u64(st, "position", &m.position) || !meta_u64(st, "soul_level", &m.level) || crc_it == st.metadata.end() ||
        crc_it->second.size() != 8 || !parse_hex64(crc_it->second, &m.state_crc))
        fail_format(what + ": metadata position, soul_level or state_crc32c missing or invalid");
    if (version < 2) fail_format(what + ": soul format_version " + std::to_string(version) + " is invalid");
    if (version >= 3 && st.metadata.find(kMetaCrcKey) == st.metadata.end())
        fail_format(what + ": metadata meta_crc32c missing (the file is corrupted)");
    // The recorded dimensions must agree with the tensors' (checked when they are read) and with meta_config.
    if (!meta_u64(st, "hidden_dim", &m.hidden_dim) || !meta_u64(st, "num_layers", &m.num_layers) ||
        !meta_u64(st, "ttt_dim", &m.ttt_dim) || !meta_u64(st, "ttt_chunk", &m.chunk) || m.chunk == 0)
        fail_format(what + ": metadata hidden_dim, num_layers, ttt_dim or ttt_chunk missing or invalid");
    return m;
}

// Whether the soul may be applied to this model: its dimensions, layer kind, heads and (unless forced) fingerprint.
void check_soul_fits(const SafetensorsView& st, const SoulMeta& m, const ModelConfig& c, uint64_t fingerprint,
                     bool force, const std::string& what) {
    if (m.hidden_dim != uint64_t(c.hidden_dim) || m.num_layers != uint64_t(c.num_layers) ||
        m.ttt_dim != uint64_t(c.ttt_dim()))
        fail_incompatible(what + ": the soul is for hidden_dim " + std::to_string(m.hidden_dim) + ", num_layers " +
                          std::to_string(m.num_layers) + "; this model has hidden_dim " + std::to_string(c.hidden_dim) +
                          ", num_layers " + std::to_string(c.num_layers));
    // The layer kind decides what the state means: never applied across kinds, not even with force.
    auto kind_it = st.metadata.find("ttt_kind");
    const std::string kind = kind_it == st.metadata.end() ? "upstream" : kind_it->second;
    if (kind != "upstream" && kind != "delta") fail_format(what + ": metadata ttt_kind \"" + kind + "\" is unknown");
    const std::string model_kind = c.is_delta() ? "delta" : "upstream";
    if (kind != model_kind)
        fail_incompatible(what + ": the soul is for a \"" + kind + "\" TTT layer, this model's layer is \"" +
                          model_kind + "\"");
    uint64_t heads = 1;
    if (c.is_delta() && (!meta_u64(st, "ttt_heads", &heads) || heads != uint64_t(c.ttt_heads)))
        fail_incompatible(what + ": the soul's ttt_heads does not match this model's " + std::to_string(c.ttt_heads));
    if (m.fingerprint != fingerprint && !force)
        fail_incompatible(what + ": the soul belongs to another model (fingerprint " + hex64(m.fingerprint) +
                          ", this model " + hex64(fingerprint) + "); load it with TTT_SOUL_FORCE to apply it anyway");
}

// Our souls' per-layer state: w_state and pending sums, or the delta kind's w_state and mix_tail.
void read_layer_states(const SafetensorsView& st, const ModelConfig& c, bool dims_confirmed, SoulState* soul,
                       const std::string& what) {
    const int32_t d = c.ttt_dim();
    for (int32_t i = 0; i < c.num_layers; ++i) {
        if (c.is_delta()) {
            soul->w[size_t(i)].from_floats(read_shaped(st, "w_state." + std::to_string(i), delta_w_shape(c), what));
            soul->pending[size_t(i)].from_floats(read_shaped(st, "mix_tail." + std::to_string(i), delta_tail_shape(c), what));
            continue;
        }
        soul->w[size_t(i)].from_floats(read_matrix(st, "w_state." + std::to_string(i), d, dims_confirmed, what));
        soul->pending[size_t(i)].from_floats(read_matrix(st, "pending." + std::to_string(i), d, dims_confirmed, what));
    }
}

// A soul made with another ttt_chunk.
void adapt_chunk(const SoulMeta& m, const ModelConfig& c, uint64_t fingerprint, SoulState* soul,
                 const std::string& what) {
    if (m.chunk == uint64_t(c.ttt_chunk)) return;
    if (m.fingerprint == fingerprint)  // the chunk is part of the fingerprint
        fail_format(what + ": the soul's ttt_chunk " + std::to_string(m.chunk) + " contradicts its fingerprint, which "
                    "matches this model (ttt_chunk " + std::to_string(c.ttt_chunk) + "); the file is corrupted");
    // Only reachable with force: the open chunk's sum means nothing under another chunk size. Apply what the soul
    // learned, drop the open chunk, and start counting chunks afresh.
    log_warn(what + ": the soul was made with ttt_chunk " + std::to_string(m.chunk) + ", this model uses " +
             std::to_string(c.ttt_chunk) + "; its open chunk is dropped");
    for (auto& p : soul->pending) p.zero();
    soul->position = 0;
}

void read_our_soul(const SafetensorsView& st, const ModelConfig& c, uint64_t fingerprint, bool force,
                   bool dims_confirmed, SoulState* soul, const std::string& what) {
    const SoulMeta m = read_soul_meta(st, what);
    check_soul_fits(st, m, c, fingerprint, force, what);
    if (st.find("meta_config") && soul->level != m.level)
        fail_format(what + ": meta_config and metadata disagree on the soul level (the file is corrupted)");
    soul->position = m.position;
    soul->level = m.level;
    read_layer_states(st, c, dims_confirmed, soul, what);
    if (state_crc(*soul) != m.state_crc) fail_format(what + ": checksum mismatch in the soul state (the file is corrupted)");
    adapt_chunk(m, c, fingerprint, soul, what);
}

void read_upstream_soul(const SafetensorsView& st, const ModelConfig& c, bool dims_confirmed, SoulState* soul,
                        const std::string& what) {
    if (c.is_delta())
        fail_incompatible(what + ": an upstream soul cannot be applied to a model with the \"delta\" TTT layer");
    // Upstream souls: no pending sums (upstream inference used chunk 1); chunk counting restarts here.
    for (int32_t i = 0; i < c.num_layers; ++i)
        soul->w[size_t(i)].from_floats(read_matrix(st, "w_state." + std::to_string(i), c.ttt_dim(), dims_confirmed, what));
    soul->position = 0;
}

}  // namespace

void soul_from_bytes(const uint8_t* data, size_t size, const ModelConfig& c, uint64_t fingerprint, bool force,
                     SoulState* out, const std::string& what) {
    if (c.is_attention()) return kv_soul_from_bytes(data, size, c, fingerprint, out, what);
    check_header_start(data, size, what);
    SafetensorsView st = parse_safetensors(data, size, what);
    SoulState soul(c);
    const bool ours = is_our_soul(st, what);
    if (ours) check_meta_crc(st, data, what);
    const bool dims_confirmed = read_meta_config(st, c, ours, &soul, what);
    if (ours) read_our_soul(st, c, fingerprint, force, dims_confirmed, &soul, what);
    else read_upstream_soul(st, c, dims_confirmed, &soul, what);
    if (st.find("w_state." + std::to_string(c.num_layers)))
        fail_incompatible(what + ": the soul has more layers than this model (" + std::to_string(c.num_layers) + ")");
    *out = std::move(soul);
}

}  // namespace ttt
