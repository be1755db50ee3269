#include "io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "common/error.h"
#include "io/json.h"

namespace ttt {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
constexpr size_t kMaxRank = 8;

bool parse_dtype(std::string_view s, DType* out) {
    static const std::pair<const char*, DType> table[] = {
        {"F64", DType::F64}, {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16},
        {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},
        {"U64", DType::U64}, {"U32", DType::U32}, {"U16", DType::U16}, {"U8", DType::U8},
        {"BOOL", DType::BOOL}};
    for (const auto& [name, t] : table)
        if (s == name) {
            *out = t;
            return true;
        }
    return false;
}

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

uint64_t json_u64(simdjson::dom::element e, const std::string& where) {
    if (e.is_int64() && e.get_int64().value_unsafe() >= 0) return static_cast<uint64_t>(e.get_int64().value_unsafe());
    if (e.is_uint64()) return e.get_uint64().value_unsafe();
    fail_format(where + " must be a non-negative integer, found " + json_type_name(e.type()));
}

}  // namespace

const char* dtype_name(DType t) {
    switch (t) {
        case DType::F64: return "F64";
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        case DType::I64: return "I64";
        case DType::I32: return "I32";
        case DType::I16: return "I16";
        case DType::I8: return "I8";
        case DType::U64: return "U64";
        case DType::U32: return "U32";
        case DType::U16: return "U16";
        case DType::U8: return "U8";
        case DType::BOOL: return "BOOL";
    }
    return "?";
}

size_t dtype_size(DType t) {
    switch (t) {
        case DType::F64: case DType::I64: case DType::U64: return 8;
        case DType::F32: case DType::I32: case DType::U32: return 4;
        case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
        case DType::I8: case DType::U8: case DType::BOOL: return 1;
    }
    return 1;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

const TensorView* SafetensorsView::find(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

SafetensorsView parse_safetensors(const uint8_t* data, size_t size, const std::string& what) {
    if (size < 8) fail_format(what + ": truncated: " + std::to_string(size) + " bytes, a safetensors file needs at least 8");
    const uint64_t header_len = read_u64_le(data);
    if (header_len == 0) fail_format(what + ": header length is 0");
    if (header_len > kMaxHeaderBytes)
        fail_format(what + ": header length " + std::to_string(header_len) + " exceeds the 100 MiB limit");
    if (header_len > size - 8)
        fail_format(what + ": truncated: header length " + std::to_string(header_len) + " runs past the end of the " +
                    std::to_string(size) + "-byte file");
    const uint8_t* data_start = data + 8 + header_len;
    const size_t data_size = size - 8 - static_cast<size_t>(header_len);

    auto doc = parse_json(std::string_view(reinterpret_cast<const char*>(data + 8), header_len),
                          "the safetensors header of " + what);
    simdjson::dom::object root;
    if (doc->root.get_object().get(root)) fail_format(what + ": the safetensors header JSON is not an object");

    SafetensorsView view;
    std::set<std::string> seen;
    for (auto field : root) {
        std::string name(field.key);
        if (!seen.insert(name).second) fail_format(what + ": tensor '" + name + "' appears twice in the header");
        if (name == "__metadata__") {
            simdjson::dom::object meta;
            if (field.value.get_object().get(meta)) fail_format(what + ": __metadata__ must be an object");
            for (auto m : meta) {
                std::string_view v;
                if (m.value.get_string().get(v))
                    fail_format(what + ": __metadata__ value of '" + std::string(m.key) + "' must be a string");
                view.metadata[std::string(m.key)] = std::string(v);
            }
            continue;
        }
        const std::string where = what + ": tensor '" + name + "'";
        simdjson::dom::object entry;
        if (field.value.get_object().get(entry)) fail_format(where + " must be an object");
        std::string dtype_str;
        if (!json_get_string_opt(entry, "dtype", where, &dtype_str)) fail_format(where + " has no dtype");
        TensorView t;
        t.name = name;
        if (!parse_dtype(dtype_str, &t.dtype)) fail_format(where + " has unknown dtype \"" + dtype_str + "\"");

        simdjson::dom::element shape_el, offsets_el;
        if (!json_find(entry, "shape", &shape_el)) fail_format(where + " has no shape");
        simdjson::dom::array shape_arr;
        if (shape_el.get_array().get(shape_arr)) fail_format(where + ": shape must be an array");
        if (shape_arr.size() > kMaxRank) fail_format(where + ": shape has rank " + std::to_string(shape_arr.size()) + " (max 8)");
        uint64_t n = 1;
        for (auto dim_el : shape_arr) {
            uint64_t dim = json_u64(dim_el, where + ": shape entry");
            if (dim > (uint64_t(1) << 40)) fail_format(where + ": shape entry " + std::to_string(dim) + " is too large");
            if (dim != 0 && n > (uint64_t(1) << 48) / dim) fail_format(where + ": shape element count overflows");
            n *= dim;
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        t.n_elements = static_cast<size_t>(n);

        if (!json_find(entry, "data_offsets", &offsets_el)) fail_format(where + " has no data_offsets");
        simdjson::dom::array off_arr;
        if (offsets_el.get_array().get(off_arr) || off_arr.size() != 2)
            fail_format(where + ": data_offsets must be an array [begin, end]");
        uint64_t begin = json_u64(off_arr.at(0).value_unsafe(), where + ": data_offsets begin");
        uint64_t end = json_u64(off_arr.at(1).value_unsafe(), where + ": data_offsets end");
        if (end < begin)
            fail_format(where + ": data_offsets end " + std::to_string(end) + " < begin " + std::to_string(begin));
        if (end > data_size)
            fail_format(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                        "] run past the data region of " + std::to_string(data_size) + " bytes (file truncated?)");
        t.n_bytes = static_cast<size_t>(end - begin);
        if (t.n_bytes != t.n_elements * dtype_size(t.dtype))
            fail_format(where + ": shape " + shape_string(t.shape) + " of " + dtype_str + " needs " +
                        std::to_string(t.n_elements * dtype_size(t.dtype)) + " bytes but data_offsets give " +
                        std::to_string(t.n_bytes));
        t.data = data_start + begin;
        view.tensors.push_back(std::move(t));
    }

    // The data region must be covered exactly: sorted by offset, each tensor starts where the previous one ended.
    std::vector<const TensorView*> by_offset;
    for (const auto& t : view.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorView* a, const TensorView* b) { return a->data < b->data || (a->data == b->data && a->n_bytes < b->n_bytes); });
    const uint8_t* cursor = data_start;
    for (const TensorView* t : by_offset) {
        if (t->data < cursor)
            fail_format(what + ": tensor '" + t->name + "' data_offsets overlap the previous tensor");
        if (t->data > cursor)
            fail_format(what + ": tensor '" + t->name + "' data_offsets leave a hole of " +
                        std::to_string(t->data - cursor) + " bytes before it");
        cursor = t->data + t->n_bytes;
    }
    if (cursor != data_start + data_size)
        fail_format(what + ": " + std::to_string(data_start + data_size - cursor) +
                    " bytes after the last tensor are not described by the header (bad data offsets)");
    return view;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
    return sign ? -v : v;
}

float bf16_to_float(uint16_t b) {
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t float_to_bf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (std::isnan(f)) return 0x7fc0;
    bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest even
    return static_cast<uint16_t>(bits >> 16);
}

uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7e00);
    float a = std::fabs(f);
    if (a >= 65520.0f) return static_cast<uint16_t>(sign | 0x7c00);
    if (a < 6.103515625e-05f) {  // subnormal: units of 2^-24, nearest even via rint
        return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.0f)));
    }
    uint32_t e = ((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rest = m & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
}

std::vector<float> tensor_to_f32(const TensorView& t, const std::string& what) {
    std::vector<float> out(t.n_elements);
    const uint8_t* p = t.data;
    switch (t.dtype) {
        case DType::F32:
            std::memcpy(out.data(), p, t.n_bytes);
            break;
        case DType::F64:
            for (size_t i = 0; i < t.n_elements; ++i) {
                double d;
                std::memcpy(&d, p + 8 * i, 8);
                out[i] = static_cast<float>(d);
            }
            break;
        case DType::F16:
        case DType::BF16:
            for (size_t i = 0; i < t.n_elements; ++i) {
                uint16_t h = static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8));
                out[i] = t.dtype == DType::F16 ? half_to_float(h) : bf16_to_float(h);
            }
            break;
        default:
            fail_format(what + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) +
                        ", expected a float dtype (F32, F16, BF16 or F64)");
    }
    for (size_t i = 0; i < out.size(); ++i)
        if (!std::isfinite(out[i]))
            fail_format(what + ": tensor '" + t.name + "' holds NaN or Inf at element " + std::to_string(i));
    return out;
}

SafetensorsLayout safetensors_layout(const std::vector<TensorSpec>& tensors,
                                     const std::map<std::string, std::string>& metadata, size_t file_offset) {
    SafetensorsLayout out;
    std::set<std::string> names;
    for (size_t k = 0; k < tensors.size(); ++k) {
        const TensorSpec& t = tensors[k];
        uint64_t elements = 1;
        for (int64_t d : t.shape) {
            if (d < 0) fail_argument("tensor '" + t.name + "' has a negative dimension");
            elements *= uint64_t(d);
        }
        if (elements * dtype_size(t.dtype) != t.n_bytes)
            fail_argument("tensor '" + t.name + "' of shape " + shape_string(t.shape) + " and dtype " +
                          dtype_name(t.dtype) + " cannot hold " + std::to_string(t.n_bytes) + " bytes");
        if (!names.insert(t.name).second) fail_argument("tensor '" + t.name + "' is written twice");
        out.order.push_back(k);
    }
    std::stable_sort(out.order.begin(), out.order.end(),
                     [&](size_t a, size_t b) { return dtype_size(tensors[a].dtype) > dtype_size(tensors[b].dtype); });
    std::string header = "{";
    bool first = true;
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        bool mfirst = true;
        for (const auto& [k, v] : metadata) {
            header += (mfirst ? "" : ",") + json_quote(k) + ":" + json_quote(v);
            mfirst = false;
        }
        header += "}";
        first = false;
    }
    for (size_t k : out.order) {
        const TensorSpec& t = tensors[k];
        header += (first ? "" : ",") + json_quote(t.name) + ":{\"dtype\":\"" + dtype_name(t.dtype) +
                  "\",\"shape\":" + shape_string(t.shape) + ",\"data_offsets\":[" + std::to_string(out.data_bytes) +
                  "," + std::to_string(out.data_bytes + t.n_bytes) + "]}";
        out.data_bytes += t.n_bytes;
        first = false;
    }
    header += "}";
    // Pad with spaces so that file_offset + 8 + header length is a multiple of 64.
    while ((file_offset + 8 + header.size()) % 64 != 0) header += ' ';
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.prefix.push_back(static_cast<uint8_t>(n >> (8 * i)));
    out.prefix.insert(out.prefix.end(), header.begin(), header.end());
    return out;
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                            size_t n_bytes) {
    specs_.push_back(TensorSpec{name, dtype, std::move(shape), n_bytes});
    bytes_.emplace_back(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n_bytes);
}

void SafetensorsWriter::add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
    add(name, DType::F32, std::move(shape), values.data(), values.size() * sizeof(float));
}

std::vector<uint8_t> SafetensorsWriter::finish(size_t file_offset) const {
    const SafetensorsLayout layout = safetensors_layout(specs_, metadata_, file_offset);
    std::vector<uint8_t> out;
    out.reserve(layout.total_bytes());
    out.insert(out.end(), layout.prefix.begin(), layout.prefix.end());
    for (size_t k : layout.order) out.insert(out.end(), bytes_[k].begin(), bytes_[k].end());
    return out;
}

}  // namespace ttt
