// A host emulation of the little of CUDA the tensor-core kernels use, so their indexing, masking and
// synchronisation can be checked with g++ where there is no GPU (emulate.sh). A block runs as
// blockDim.x host threads that meet at real barriers; blocks run one after another, so a kernel's
// __shared__ arrays can be function statics. Nothing here says anything about speed.
#pragma once

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <functional>

using std::max;
using std::min;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __trap() std::abort()

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

extern thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

typedef int cudaError_t;
constexpr cudaError_t cudaSuccess = 0;
enum cudaDeviceAttr { cudaDevAttrComputeCapabilityMajor = 75 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* device) { *device = 0; return cudaSuccess; }
// An H100 as far as the kernels ask.
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) { *value = 9; return cudaSuccess; }
template <typename Kernel>
cudaError_t cudaFuncSetAttribute(Kernel*, cudaFuncAttribute, int) { return cudaSuccess; }

// The calling thread's barriers and exchange slots (set up by emu_run for its block).
void __syncthreads();
void __syncwarp(unsigned mask = 0xffffffffu);
float emu_exchange(float v, int from_lane);  // every lane publishes v, gets lane from_lane's
float* emu_dynamic_smem();

inline float __shfl_xor_sync(unsigned, float v, int lane_mask) { return emu_exchange(v, (int)(threadIdx.x % 32) ^ lane_mask); }
inline float __shfl_sync(unsigned, float v, int lane) { return emu_exchange(v, lane); }

void emu_run(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body);

// What a <<<grid, block, bytes>>> launch becomes (emulate.sh rewrites the launches).
template <typename... KernelArgs, typename... Args>
void emu_launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t shared_bytes, Args&&... args) {
    emu_run(grid, block, shared_bytes, [&] { kernel(args...); });
}
