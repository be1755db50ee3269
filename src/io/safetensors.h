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

// Builds a safetensors image. Tensors are laid out widest element type first so that every tensor starts at a
// multiple of its element size, and the header is padded with spaces (allowed by the format) so the data region
// starts at a multiple of 64 counted from `file_offset` (the image's position inside an enclosing file).
class SafetensorsWriter {
public:
    void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, size_t n_bytes);
    void add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values);
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
    std::vector<uint8_t> finish(size_t file_offset = 0) const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

// float <-> half / bfloat16 conversions (round to nearest even).
float half_to_float(uint16_t h);
float bf16_to_float(uint16_t b);
uint16_t float_to_half(float f);
uint16_t float_to_bf16(float f);

}  // namespace ttt
