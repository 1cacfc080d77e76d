// The emulation's runtime (see cuda_runtime.h): launching a grid block by block, the block's
// barriers, warp exchanges, dynamic shared memory, and the library's error recording.
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "cuda_runtime.h"

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

struct Block {
    std::barrier<> all;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<float> slots;  // one per thread, for warp exchanges
    explicit Block(int threads) : all(threads), slots((size_t)threads) {
        for (int w = 0; w < threads / 32; w++) warps.push_back(std::make_unique<std::barrier<>>(32));
    }
};

Block* g_block = nullptr;
float* g_dynamic = nullptr;

}  // namespace

void __syncthreads() { g_block->all.arrive_and_wait(); }
void __syncwarp(unsigned) { g_block->warps[threadIdx.x / 32]->arrive_and_wait(); }

float emu_exchange(float v, int from_lane) {
    unsigned warp = threadIdx.x / 32;
    g_block->slots[threadIdx.x] = v;
    __syncwarp();
    float got = g_block->slots[warp * 32 + (unsigned)from_lane];
    __syncwarp();  // every lane has read before any lane publishes again
    return got;
}

float* emu_dynamic_smem() { return g_dynamic; }

void emu_run(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
    int threads = (int)(block.x * block.y * block.z);
    if (threads % 32 != 0 || block.y != 1 || block.z != 1) {
        fprintf(stderr, "emu_run: only 1-D blocks of whole warps are emulated\n");
        abort();
    }
    size_t bytes = (shared_bytes + 127) / 128 * 128;
    float* dynamic = bytes > 0 ? static_cast<float*>(aligned_alloc(128, bytes)) : nullptr;
    for (unsigned by = 0; by < grid.y; by++)
        for (unsigned bx = 0; bx < grid.x; bx++) {
            // Garbage, not zeros: a kernel must write its shared memory before reading it.
            for (size_t i = 0; i < bytes / 4; i++) dynamic[i] = NAN;
            Block b(threads);
            g_block = &b;
            g_dynamic = dynamic;
            std::vector<std::thread> pool;
            for (int t = 0; t < threads; t++)
                pool.emplace_back([&, t] {
                    threadIdx = dim3((unsigned)t);
                    blockIdx = dim3(bx, by);
                    blockDim = block;
                    gridDim = grid;
                    body();
                });
            for (auto& th : pool) th.join();
        }
    free(dynamic);
}

namespace hyper {

static char g_last_error[512] = "";

int fail(int code, const char* format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(g_last_error, sizeof g_last_error, format, args);
    va_end(args);
    fprintf(stderr, "%s\n", g_last_error);
    return code;
}

int check(cudaError_t e, const char* what) { return e == cudaSuccess ? 0 : fail((int)e, "%s: error %d", what, (int)e); }

}  // namespace hyper
