#include "train/checkpoint.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "common/error.h"
#include "io/checksum.h"
#include "load/config_json.h"
#include "io/file.h"
#include "io/json.h"
#include "train/data.h"

namespace ttt {

namespace {

const char* const kFormatName = "bit_ttt.checkpoint";
const char* const kMomentPrefix = "adamw.m.";
const char* const kStreamSouls = "stream.souls";
const char* const kVariancePrefix = "adamw.v.";

bool little_endian_host() {
    const uint32_t one = 1;
    uint8_t b;
    std::memcpy(&b, &one, 1);
    return b == 1;
}

std::string hex32(uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof b, "%08" PRIx32, v);
    return b;
}

std::string fmt_double(double v) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", v);
    return b;
}

struct TensorRecord {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
};

std::string shape_json(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

// The string meta_crc32c is computed over (see checkpoint.h).
std::string header_digest_text(const std::map<std::string, std::string>& meta, const std::vector<TensorRecord>& tensors) {
    std::string s;
    for (const auto& kv : meta) {
        if (kv.first == "meta_crc32c") continue;
        s += kv.first + "=" + kv.second + "\n";
    }
    for (const TensorRecord& t : tensors)
        s += t.name + "|F32|" + shape_json(t.shape) + "|" + std::to_string(t.begin) + "|" + std::to_string(t.end) + "\n";
    return s;
}

std::string meta_or_fail(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& what) {
    auto it = meta.find(key);
    if (it == meta.end()) fail_format(what + ": checkpoint metadata has no \"" + key + "\"");
    return it->second;
}

bool parse_u64(const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

uint64_t meta_u64(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& what) {
    uint64_t v = 0;
    if (!parse_u64(meta_or_fail(meta, key, what), &v))
        fail_format(what + ": checkpoint metadata \"" + key + "\" is not a non-negative integer");
    return v;
}

}  // namespace

std::string describe_config_difference(const ModelConfig& a, const ModelConfig& b) {
    std::string d;
    auto add = [&](const char* field, const std::string& x, const std::string& y) {
        if (x != y) d += std::string(d.empty() ? "" : "; ") + field + ": " + x + " vs " + y;
    };
    auto f = [](float v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", double(v));
        return std::string(buf);
    };
    add("vocab_size", std::to_string(a.vocab_size), std::to_string(b.vocab_size));
    add("hidden_dim", std::to_string(a.hidden_dim), std::to_string(b.hidden_dim));
    add("num_layers", std::to_string(a.num_layers), std::to_string(b.num_layers));
    add("intermediate_dim", std::to_string(a.intermediate_dim), std::to_string(b.intermediate_dim));
    add("inner_lr", f(a.inner_lr), f(b.inner_lr));
    add("bitlinear_scale", a.bitlinear_scale ? "true" : "false", b.bitlinear_scale ? "true" : "false");
    add("act_bits", std::to_string(a.act_bits), std::to_string(b.act_bits));
    add("ttt_chunk", std::to_string(a.ttt_chunk), std::to_string(b.ttt_chunk));
    add("ttt_kind", a.is_delta() ? "delta" : "upstream", b.is_delta() ? "delta" : "upstream");
    add("ttt_heads", std::to_string(a.ttt_heads), std::to_string(b.ttt_heads));
    add("ttt_dim", std::to_string(a.ttt_dim()), std::to_string(b.ttt_dim()));
    add("norm_eps", f(a.norm_eps), f(b.norm_eps));
    add("bos_id", std::to_string(a.bos_id), std::to_string(b.bos_id));
    add("eos_id", std::to_string(a.eos_id), std::to_string(b.eos_id));
    return d;
}

void save_checkpoint(const std::string& path, const TrainParams& params, const AdamW& adamw,
                     const CheckpointInfo& info, const std::vector<float>* stream_souls) {
    if (!little_endian_host()) fail_unsupported("checkpoints are written on little-endian machines only");
    const size_t n = params.values.size();
    if (adamw.m.size() != n || adamw.v.size() != n)
        throw Error(TTT_ERR_INVALID_STATE, "save_checkpoint: optimiser state does not match the parameters");
    if (describe_config_difference(info.config, params.config) != "")
        throw Error(TTT_ERR_INVALID_STATE, "save_checkpoint: info.config is not the parameters' config");

    // Tensor table: three arenas, each tensor at its arena offset.
    std::vector<TensorRecord> tensors;
    const uint64_t arena_bytes = uint64_t(n) * 4;
    const char* prefixes[3] = {"", kMomentPrefix, kVariancePrefix};
    for (int g = 0; g < 3; ++g)
        for (const ParamTensor& t : params.tensors) {
            if (t.offset > n || t.size > n - t.offset)
                throw Error(TTT_ERR_INVALID_STATE, "save_checkpoint: tensor '" + t.name + "' lies outside the arena");
            TensorRecord r;
            r.name = prefixes[g] + t.name;
            r.shape = t.shape;
            r.begin = uint64_t(g) * arena_bytes + uint64_t(t.offset) * 4;
            r.end = r.begin + uint64_t(t.size) * 4;
            tensors.push_back(std::move(r));
        }
    std::sort(tensors.begin(), tensors.end(), [](const TensorRecord& a, const TensorRecord& b) { return a.begin < b.begin; });
    // The data region is exactly the three arenas; a tensor table with holes or overlaps would not be.
    uint64_t cursor = 0;
    for (const TensorRecord& t : tensors) {
        if (t.begin != cursor)
            throw Error(TTT_ERR_INVALID_STATE, "save_checkpoint: parameter tensors do not tile the arena at '" + t.name + "'");
        cursor = t.end;
    }
    if (cursor != 3 * arena_bytes) throw Error(TTT_ERR_INVALID_STATE, "save_checkpoint: parameter tensors do not cover the arena");
    const bool has_souls = stream_souls && !stream_souls->empty();
    const uint64_t souls_bytes = has_souls ? uint64_t(stream_souls->size()) * 4 : 0;
    if (has_souls) {
        const int64_t L = params.config.num_layers, per = int64_t(stream_souls->size()) / L;
        const int64_t S = int64_t(train_soul_size(params.config));
        if (S == 0 || int64_t(stream_souls->size()) % L != 0 || per % S != 0)
            throw Error(TTT_ERR_INVALID_STATE, "save_checkpoint: stream souls do not match the model");
        tensors.push_back(TensorRecord{kStreamSouls, {L, per / S, S}, cursor, cursor + souls_bytes});
    }

    uint32_t data_crc = crc32c(params.values.data(), arena_bytes);
    data_crc = crc32c(adamw.m.data(), arena_bytes, data_crc);
    data_crc = crc32c(adamw.v.data(), arena_bytes, data_crc);
    if (has_souls) data_crc = crc32c(stream_souls->data(), souls_bytes, data_crc);

    std::map<std::string, std::string> meta;
    meta["format"] = kFormatName;
    meta["format_version"] = std::to_string(kCheckpointFormatVersion);
    meta["min_reader_version"] = "1";
    meta["step"] = std::to_string(info.step);
    meta["adamw_t"] = std::to_string(adamw.t);
    meta["seed"] = std::to_string(info.seed);
    meta["data_position"] = std::to_string(info.data_position);
    meta["sampler"] = "random-windows-v1";
    meta["best_val_loss"] = info.has_best_val_loss ? fmt_double(info.best_val_loss) : "none";
    meta["config"] = config_to_json(info.config);
    meta["train_options"] = info.options_json.empty() ? "{}" : info.options_json;
    const AdamWOptions& ao = adamw.options();
    meta["adamw"] = "{\"beta1\":" + fmt_double(ao.beta1) + ",\"beta2\":" + fmt_double(ao.beta2) +
                    ",\"eps\":" + fmt_double(ao.eps) + ",\"weight_decay\":" + fmt_double(ao.weight_decay) + "}";
    meta["train_tokens"] = std::to_string(info.train_tokens);
    meta["tokenizer_fingerprint"] = info.tokenizer_fingerprint;
    meta["n_params"] = std::to_string(n);
    meta["data_crc32c"] = hex32(data_crc);
    const std::string digest = header_digest_text(meta, tensors);
    meta["meta_crc32c"] = hex32(crc32c(digest.data(), digest.size()));

    std::string header = "{\"__metadata__\":{";
    bool first = true;
    for (const auto& kv : meta) {
        header += (first ? "" : ",") + json_quote(kv.first) + ":" + json_quote(kv.second);
        first = false;
    }
    header += "}";
    for (const TensorRecord& t : tensors)
        header += "," + json_quote(t.name) + ":{\"dtype\":\"F32\",\"shape\":" + shape_json(t.shape) +
                  ",\"data_offsets\":[" + std::to_string(t.begin) + "," + std::to_string(t.end) + "]}";
    header += "}";
    while ((8 + header.size()) % 64 != 0) header.push_back(' ');
    uint8_t len[8];
    const uint64_t hl = header.size();
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(hl >> (8 * i));

    AtomicFileWriter out(path);
    out.write(len, 8);
    out.write(header.data(), header.size());
    out.write(params.values.data(), arena_bytes);
    out.write(adamw.m.data(), arena_bytes);
    out.write(adamw.v.data(), arena_bytes);
    if (has_souls) out.write(stream_souls->data(), souls_bytes);
    out.commit();
}

CheckpointFile read_checkpoint(const std::string& path) {
    if (!little_endian_host()) fail_unsupported("checkpoints are read on little-endian machines only");
    CheckpointFile f;
    f.path = path;
    f.bytes = read_file(path);
    const std::string what = "checkpoint '" + path + "'";
    f.view = parse_safetensors(f.bytes.data(), f.bytes.size(), what);
    const auto& meta = f.view.metadata;
    auto fmt = meta.find("format");
    if (fmt == meta.end() || fmt->second != kFormatName)
        fail_format(what + " is not a bit_ttt training checkpoint (metadata \"format\" is not \"" + kFormatName + "\")");
    const uint64_t min_reader = meta_u64(meta, "min_reader_version", what);
    if (min_reader > uint64_t(kCheckpointFormatVersion))
        fail_unsupported(what + " needs checkpoint reader version >= " + std::to_string(min_reader) + ", this is " +
                         std::to_string(kCheckpointFormatVersion) + "; update bit_ttt");
    f.info.format_version = int32_t(meta_u64(meta, "format_version", what));

    // Header checksum, then data checksum.
    uint64_t header_len = 0;
    for (int i = 0; i < 8; ++i) header_len |= uint64_t(f.bytes[size_t(i)]) << (8 * i);
    const uint8_t* data_start = f.bytes.data() + 8 + header_len;
    std::vector<TensorRecord> tensors;
    for (const TensorView& t : f.view.tensors) {
        if (t.dtype != DType::F32) fail_format(what + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) + ", expected F32");
        TensorRecord r;
        r.name = t.name;
        r.shape = t.shape;
        r.begin = uint64_t(t.data - data_start);
        r.end = r.begin + t.n_bytes;
        tensors.push_back(std::move(r));
    }
    std::sort(tensors.begin(), tensors.end(), [](const TensorRecord& a, const TensorRecord& b) { return a.begin < b.begin; });
    const std::string digest = header_digest_text(meta, tensors);
    const std::string meta_crc = meta_or_fail(meta, "meta_crc32c", what);
    if (hex32(crc32c(digest.data(), digest.size())) != meta_crc)
        fail_format(what + " is corrupted: the header checksum (meta_crc32c) does not match");
    const std::string data_crc = meta_or_fail(meta, "data_crc32c", what);
    const size_t data_size = f.bytes.size() - size_t(8 + header_len);
    if (hex32(crc32c(data_start, data_size)) != data_crc)
        fail_format(what + " is corrupted: the tensor data checksum (data_crc32c) does not match");

    CheckpointInfo& in = f.info;
    in.step = int64_t(meta_u64(meta, "step", what));
    in.adamw_t = int64_t(meta_u64(meta, "adamw_t", what));
    in.seed = meta_u64(meta, "seed", what);
    in.data_position = meta_u64(meta, "data_position", what);
    if (meta_or_fail(meta, "sampler", what) != "random-windows-v1")
        fail_unsupported(what + ": unknown data sampler \"" + meta.at("sampler") + "\"");
    const std::string best = meta_or_fail(meta, "best_val_loss", what);
    if (best != "none") {
        char* end = nullptr;
        in.best_val_loss = std::strtod(best.c_str(), &end);
        if (end == best.c_str() || *end != '\0') fail_format(what + ": best_val_loss \"" + best + "\" is not a number");
        in.has_best_val_loss = true;
    }
    in.config = parse_config_json(meta_or_fail(meta, "config", what), what + " (config)");
    in.options_json = meta_or_fail(meta, "train_options", what);
    in.adamw_json = meta_or_fail(meta, "adamw", what);
    in.train_tokens = meta_u64(meta, "train_tokens", what);
    in.tokenizer_fingerprint = meta_or_fail(meta, "tokenizer_fingerprint", what);
    return f;
}

void restore_checkpoint(const CheckpointFile& ckpt, TrainParams& params, AdamW& adamw) {
    const std::string what = "checkpoint '" + ckpt.path + "'";
    const std::string diff = describe_config_difference(ckpt.info.config, params.config);
    if (!diff.empty())
        fail_incompatible(what + " belongs to another model config (checkpoint vs requested: " + diff +
                          "); use the same config to resume, or another output directory to start afresh");
    const size_t n = params.values.size();
    if (adamw.m.size() != n || adamw.v.size() != n)
        throw Error(TTT_ERR_INVALID_STATE, "restore_checkpoint: optimiser state does not match the parameters");
    const size_t extra = ckpt.view.find(kStreamSouls) ? 1 : 0;
    if (ckpt.view.tensors.size() != 3 * params.tensors.size() + extra)
        fail_incompatible(what + " holds " + std::to_string(ckpt.view.tensors.size()) + " tensors, expected " +
                          std::to_string(3 * params.tensors.size() + extra) + " (parameters, adamw.m, adamw.v" +
                          (extra ? ", stream.souls)" : ")"));
    // Check everything first, then copy: nothing changes on failure.
    const char* prefixes[3] = {"", kMomentPrefix, kVariancePrefix};
    std::vector<const TensorView*> found;
    for (int g = 0; g < 3; ++g)
        for (const ParamTensor& t : params.tensors) {
            const std::string name = prefixes[g] + t.name;
            const TensorView* v = ckpt.view.find(name);
            if (!v) fail_incompatible(what + " has no tensor '" + name + "'");
            if (v->shape != t.shape)
                fail_incompatible(what + ": tensor '" + name + "' has shape " + shape_string(v->shape) + ", expected " +
                                  shape_string(t.shape));
            if (v->n_bytes != t.size * 4) fail_format(what + ": tensor '" + name + "' has the wrong byte size");
            for (size_t i = 0; i < t.size; ++i) {
                float x;
                std::memcpy(&x, v->data + 4 * i, 4);
                if (!std::isfinite(x) || (g == 2 && x < 0.0f))
                    fail_format(what + ": tensor '" + name + "' holds an invalid value at element " + std::to_string(i));
            }
            found.push_back(v);
        }
    size_t k = 0;
    std::vector<float>* dst[3] = {&params.values, &adamw.m, &adamw.v};
    for (int g = 0; g < 3; ++g)
        for (const ParamTensor& t : params.tensors) std::memcpy(dst[g]->data() + t.offset, found[k++]->data, t.size * 4);
    adamw.t = ckpt.info.adamw_t;
}

std::string checkpoint_file_path(const std::string& dir, int64_t step) {
    char b[64];
    std::snprintf(b, sizeof b, "ckpt-%08lld.safetensors", static_cast<long long>(step));
    return dir + "/" + b;
}

bool restore_stream_souls(const CheckpointFile& ckpt, size_t expected, std::vector<float>* out) {
    const std::string what = "checkpoint '" + ckpt.path + "'";
    const TensorView* v = ckpt.view.find(kStreamSouls);
    if (!v) return false;
    if (v->n_bytes != uint64_t(expected) * 4)
        fail_incompatible(what + ": the carried souls hold " + std::to_string(v->n_bytes / 4) + " values, this run needs " +
                          std::to_string(expected) + "; resume with the same batch size and model");
    std::vector<float> souls(expected);
    if (expected) std::memcpy(souls.data(), v->data, expected * 4);
    for (size_t i = 0; i < expected; ++i)
        if (!std::isfinite(souls[i]))
            fail_format(what + ": the carried souls hold an invalid value at element " + std::to_string(i));
    *out = std::move(souls);
    return true;
}

std::string best_checkpoint_path(const std::string& dir) { return dir + "/model-best.safetensors"; }

std::vector<CheckpointEntry> list_checkpoints(const std::string& dir) {
    std::vector<CheckpointEntry> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        const std::string pre = "ckpt-", suf = ".safetensors";
        if (name.size() <= pre.size() + suf.size() || name.compare(0, pre.size(), pre) != 0 ||
            name.compare(name.size() - suf.size(), suf.size(), suf) != 0)
            continue;
        uint64_t step = 0;
        if (!parse_u64(name.substr(pre.size(), name.size() - pre.size() - suf.size()), &step)) continue;
        if (!e.is_regular_file(ec)) continue;
        out.push_back({int64_t(step), dir + "/" + name});
    }
    std::sort(out.begin(), out.end(), [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step < b.step; });
    return out;
}

void rotate_checkpoints(const std::string& dir, int32_t keep_last) {
    if (keep_last <= 0) return;
    std::vector<CheckpointEntry> all = list_checkpoints(dir);
    if (all.size() <= size_t(keep_last)) return;
    for (size_t i = 0; i + size_t(keep_last) < all.size(); ++i) {
        std::error_code ec;
        std::filesystem::remove(all[i].path, ec);
    }
}

bool find_resume_checkpoint(const std::string& dir, CheckpointFile* out, std::vector<std::string>* skipped) {
    std::vector<CheckpointEntry> all = list_checkpoints(dir);
    if (all.empty()) return false;
    std::vector<std::string> reasons;
    for (size_t i = all.size(); i-- > 0;) {
        try {
            *out = read_checkpoint(all[i].path);
            if (out->info.step != all[i].step)
                fail_format("checkpoint '" + all[i].path + "' records step " + std::to_string(out->info.step) +
                            ", its name says " + std::to_string(all[i].step));
            if (skipped) skipped->insert(skipped->end(), reasons.begin(), reasons.end());
            return true;
        } catch (const Error& e) {
            reasons.push_back(e.what());
        }
    }
    std::string msg = "no checkpoint in '" + dir + "' validates:";
    for (const std::string& r : reasons) msg += "\n  " + r;
    fail_format(msg);
}

}  // namespace ttt
