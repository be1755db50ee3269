// The CUDA ternary int8 product against the CPU scalar level (the oracle), bit for bit, on random and odd shapes.
// Skips, saying so, where no GPU exists (exit 0): GPU code is tested on a GPU machine (DESIGN §6).
#include <cstdio>
#include <random>
#include <vector>

#include "cpu/ternary_kernels.h"
#include "cpu/ternary_ref.h"
#include "cuda/ternary_cuda.h"

#define CHECK_CUDA(x)                                                                                  \
    do {                                                                                               \
        cudaError_t e_ = (x);                                                                          \
        if (e_ != cudaSuccess) {                                                                       \
            std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));   \
            return 1;                                                                                  \
        }                                                                                              \
    } while (0)

int main() {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("skip: no CUDA device here; the CUDA ternary kernel is tested on a GPU machine\n");
        return 0;
    }
    std::mt19937 rng(7);
    const ttt::TernaryKernels& cpu = ttt::ternary_kernels(ttt::CpuLevel::scalar);
    const size_t shapes[][3] = {{1, 1, 1}, {5, 3, 2}, {33, 67, 1}, {64, 256, 17}, {1000, 130, 3}, {256, 4099, 5}};
    int failures = 0;
    for (const auto& s : shapes) {
        const size_t rows = s[0], cols = s[1], M = s[2];
        std::vector<int8_t> trits(rows * cols), q(M * cols);
        for (auto& t : trits) t = int8_t(int(rng() % 3) - 1);
        for (auto& v : q) v = int8_t(int(rng() % 256) - 128);
        std::vector<float> a(M);
        for (auto& v : a) v = 0.5f + float(rng() % 1000) / 100.0f;
        std::vector<uint8_t> packed(rows * ttt::ternary_row_bytes(cols));
        ttt::pack_ternary_ref(trits.data(), rows, cols, packed.data());
        std::vector<float> want(M * rows), got(M * rows);
        cpu.gemm_i8(packed.data(), rows, cols, q.data(), cols, a.data(), M, want.data(), rows, 0, rows);

        uint8_t* d_packed;
        int8_t* d_q;
        float *d_a, *d_y;
        CHECK_CUDA(cudaMalloc(&d_packed, packed.size()));
        CHECK_CUDA(cudaMalloc(&d_q, q.size()));
        CHECK_CUDA(cudaMalloc(&d_a, a.size() * 4));
        CHECK_CUDA(cudaMalloc(&d_y, got.size() * 4));
        CHECK_CUDA(cudaMemcpy(d_packed, packed.data(), packed.size(), cudaMemcpyHostToDevice));
        CHECK_CUDA(cudaMemcpy(d_q, q.data(), q.size(), cudaMemcpyHostToDevice));
        CHECK_CUDA(cudaMemcpy(d_a, a.data(), a.size() * 4, cudaMemcpyHostToDevice));
        CHECK_CUDA(ttt::cuda_ternary_gemm_i8(d_packed, rows, cols, d_q, cols, d_a, M, d_y, rows, 0, rows, nullptr));
        CHECK_CUDA(cudaMemcpy(got.data(), d_y, got.size() * 4, cudaMemcpyDeviceToHost));
        cudaFree(d_packed);
        cudaFree(d_q);
        cudaFree(d_a);
        cudaFree(d_y);
        size_t bad = 0;
        for (size_t i = 0; i < want.size(); ++i) bad += want[i] != got[i];
        std::printf("%s rows %zu cols %zu M %zu: %zu of %zu differ\n", bad ? "FAIL" : "ok  ", rows, cols, M, bad,
                    want.size());
        failures += bad != 0;
    }
    return failures ? 1 : 0;
}
