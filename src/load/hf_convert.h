// A Hugging Face checkpoint directory (Llama / BitNet) to .bitt, streaming tensor by tensor (load/hf_convert_posix.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "load/hf_checkpoint.h"

namespace ttt {

// Writes `out_path` crash-safely; returns the model's fingerprint (the same as loading the directory gives).
// `ternarise` turns a float Llama's projections ternary (HfReader). POSIX only.
// `floats` bf16 stores a float Llama's f32 / f16 projections as bf16.
uint64_t convert_hf_to_bitt(const std::string& dir, const std::string& out_path, const Ternarise& ternarise = {},
                            FloatProjections floats = FloatProjections::as_stored);

}  // namespace ttt
