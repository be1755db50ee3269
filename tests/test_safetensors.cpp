// The safetensors reader's own rules, on hand-made headers: exact coverage of the data region, overflow-safe shapes,
// duplicate names, metadata types; and the writer's alignment.
#include <doctest/doctest.h>

#include <string>

#include "common/error.h"
#include "io/safetensors.h"

namespace {

std::vector<uint8_t> make(const std::string& header, size_t data_bytes) {
    std::vector<uint8_t> out(8);
    for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(uint64_t(header.size()) >> (8 * i));
    out.insert(out.end(), header.begin(), header.end());
    out.resize(out.size() + data_bytes, 0);
    return out;
}

std::string error_of(const std::string& header, size_t data_bytes) {
    auto bytes = make(header, data_bytes);
    try {
        ttt::parse_safetensors(bytes.data(), bytes.size(), "t");
    } catch (const ttt::Error& e) {
        CHECK(e.status() == TTT_ERR_FORMAT);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("safetensors reader: coverage, shapes, names and metadata") {
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4).empty());
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8).find("hole") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8).find("not described") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", 8)
              .find("overlap") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)
              .find("twice") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4)
              .find("overflows") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4).find("rank") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4).find("non-negative") != std::string::npos);
    CHECK(error_of(R"({"__metadata__":{"k":1}})", 0).find("__metadata__") != std::string::npos);
    CHECK(error_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4).find("data_offsets") != std::string::npos);
    CHECK(error_of(R"([1,2])", 0).find("not an object") != std::string::npos);
    CHECK(error_of("{\"\xff\":{}}", 0).find("UTF-8") != std::string::npos);
    CHECK(error_of(R"({})", 0).empty());  // an empty file is valid
}

TEST_CASE("safetensors writer: widest types first, 64-byte aligned data, round trip") {
    ttt::SafetensorsWriter w;
    const uint8_t small[3] = {1, 2, 3};
    const float f[2] = {1.5f, -2.0f};
    const double g = 3.25;
    w.add("bytes", ttt::DType::U8, {3}, small, 3);
    w.add("floats", ttt::DType::F32, {2}, f, sizeof f);
    w.add("double", ttt::DType::F64, {1}, &g, sizeof g);
    w.set_metadata("format", "test");
    for (size_t offset : {size_t(0), size_t(12), size_t(100)}) {
        auto bytes = w.finish(offset);
        auto view = ttt::parse_safetensors(bytes.data(), bytes.size(), "w");
        REQUIRE(view.tensors.size() == 3);
        CHECK(view.metadata.at("format") == "test");
        const size_t data_start = size_t(view.find("double")->data - bytes.data());
        CHECK((offset + data_start) % 64 == 0);
        CHECK(size_t(view.find("floats")->data - bytes.data()) % 4 == 0);
        CHECK(ttt::tensor_to_f32(*view.find("floats"), "w") == std::vector<float>{1.5f, -2.0f});
        CHECK(ttt::tensor_to_f32(*view.find("double"), "w") == std::vector<float>{3.25f});
    }
}

TEST_CASE("half and bfloat16 conversions round to nearest even") {
    for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.33325195f})
        CHECK(ttt::half_to_float(ttt::float_to_half(v)) == v);
    CHECK(ttt::float_to_half(1e6f) == 0x7c00);  // overflow → inf
    CHECK(ttt::bf16_to_float(ttt::float_to_bf16(1.0f)) == 1.0f);
    CHECK(ttt::float_to_bf16(1.00390625f) == 0x3f80);  // a tie rounds to even
}
