// What every kernel file shares: error recording, launch checks, reusable device scratch and
// warp/block reductions. Kernels are plain CUDA C++17 with no intrinsics beyond warp shuffles.
#pragma once

#include <cuda_runtime.h>

#include "../hyper_cuda.h"

namespace hyper {

// Records a message for hyper_cuda_last_error and returns code (printf-style format).
int fail(int code, const char* format, ...);

// 0 when e is cudaSuccess; otherwise records "what: <CUDA's message>" and returns e.
int check(cudaError_t e, const char* what);

// Call right after a <<<...>>> launch: reports a bad configuration or an earlier async error.
inline int launched(const char* kernel) { return check(cudaGetLastError(), kernel); }

// Device memory kept between calls and grown on demand, one block per slot (token ids,
// reduction partials, attention row terms). Safe to reuse from call to call because every
// kernel runs in order on the default stream.
enum ScratchSlot { kScratchInts = 0, kScratchPartials = 1, kScratchRows = 2, kScratchSlots = 3 };
int scratch(ScratchSlot slot, size_t bytes, void** device);

// Copies n host ints into the int scratch and returns its device pointer.
int upload_ints(const int* host, long long n, const int** device);

// Whether p allows float4 loads (16-byte alignment).
inline bool aligned16(const void* p) { return ((unsigned long long)p & 15ull) == 0; }

inline unsigned blocks_for(long long n, int threads) { return (unsigned)((n + threads - 1) / threads); }

// Elementwise kernels cover any n with a grid-stride loop over at most this many blocks.
constexpr int kMaxBlocks = 65535;
inline unsigned grid_for(long long n, int threads) {
    long long b = (n + threads - 1) / threads;
    return (unsigned)(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `shared` holds 32 floats; the leading barrier lets callers reuse it back to back.
__device__ __forceinline__ float block_sum(float v, float* shared) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < warps ? shared[lane] : 0.0f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* shared) {
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < warps ? shared[lane] : -INFINITY;
    return warp_max(v);
}

}  // namespace hyper

// Returns from the enclosing function with the code of a failed call.
#define HYPER_TRY(call)              \
    do {                             \
        int hyper_rc_ = (call);      \
        if (hyper_rc_ != 0) return hyper_rc_; \
    } while (0)
