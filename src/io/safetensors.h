// safetensors: an 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {str: str}}, then the data region. The reader trusts nothing: every length, offset, shape and dtype
// is checked before use, the data region must be covered exactly (no overlaps, no holes), as the reference
// implementation requires.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ttt {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

const char* dtype_name(DType t);
size_t dtype_size(DType t);

struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    size_t n_elements = 0;
    const uint8_t* data = nullptr;  // points into the parsed buffer (unaligned in general)
    size_t n_bytes = 0;
};

struct SafetensorsView {
    std::vector<TensorView> tensors;
    std::map<std::string, std::string> metadata;
    const TensorView* find(const std::string& name) const;
};

// Parse a safetensors image held in memory (the buffer must outlive the view). `what` names it in errors.
// Throws Error(TTT_ERR_FORMAT) with the reason.
SafetensorsView parse_safetensors(const uint8_t* data, size_t size, const std::string& what);

// Convert a float tensor (F32, F16, BF16, F64) to f32. Non-finite values are refused: `what` names the file.
std::vector<float> tensor_to_f32(const TensorView& t, const std::string& what);

std::string shape_string(const std::vector<int64_t>& shape);  // "[3, 12]"

// One tensor of an image to write; its bytes come with it (SafetensorsWriter) or later (a streamed writer).
struct TensorSpec {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    size_t n_bytes = 0;  // must equal the elements of `shape` times the element size
};

// Where everything goes in a safetensors image: tensors widest element type first (stable otherwise), so every
// tensor starts at a multiple of its element size, and the header padded with spaces (allowed by the format) so
// the data region starts at a multiple of 64 counted from `file_offset`. Throws Error(TTT_ERR_INVALID_ARGUMENT) on a
// spec whose byte count does not match its shape, or on a repeated name.
struct SafetensorsLayout {
    std::vector<uint8_t> prefix;  // the 8-byte header length and the padded header JSON
    std::vector<size_t> order;    // indices of the specs, in the order their bytes follow the prefix
    uint64_t data_bytes = 0;
    uint64_t total_bytes() const { return prefix.size() + data_bytes; }
};
SafetensorsLayout safetensors_layout(const std::vector<TensorSpec>& tensors,
                                     const std::map<std::string, std::string>& metadata, size_t file_offset);

// Builds a safetensors image in memory (the layout above). Tensors are laid out widest element type first so that every tensor starts at a
// multiple of its element size, and the header is padded with spaces (allowed by the format) so the data region
// starts at a multiple of 64 counted from `file_offset` (the image's position inside an enclosing file).
class SafetensorsWriter {
public:
    void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, size_t n_bytes);
    void add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values);
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
    std::vector<uint8_t> finish(size_t file_offset = 0) const;

private:
    std::vector<TensorSpec> specs_;
    std::vector<std::vector<uint8_t>> bytes_;
    std::map<std::string, std::string> metadata_;
};

// float <-> half / bfloat16 conversions (round to nearest even).
float half_to_float(uint16_t h);
float bf16_to_float(uint16_t b);
uint16_t float_to_half(float f);
uint16_t float_to_bf16(float f);

}  // namespace ttt
