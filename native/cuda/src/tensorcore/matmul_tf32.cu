// Matmul variant 3 (tf32): C[M,Nc] (+)= A[M,K] . B[K,Nc] on tensor cores through WMMA, TF32 inputs
// (10-bit mantissa: each operand rounded to nearest, about 5e-4 relative) and fp32 accumulation.
// A block computes a 128x128 tile of C with 8 warps, each a 64x32 sub-tile as 4x2 accumulator
// fragments of 16x16. Per 32-deep K step both operands are staged in shared memory K-contiguous
// (A as s[m][k], B as s[n][k]), whichever way they run in global memory, so one loader and one
// fragment layout serve the forward and both backward GEMMs; WMMA then reads A row-major and B
// column-major. Single-buffered: this is the lab's first tensor-core variant, to be ranked
// against the register-blocked fp32 kernel and cuBLAS before anything is tuned.
#include "tensor_cores.cuh"
#include "wmma_tf32.cuh"

namespace {

using namespace nvcuda;
using hyper::to_tf32;

constexpr int kTile = 128;      // block tile: kTile x kTile outputs
constexpr int kDepth = 32;      // K per shared-memory stage
constexpr int kLd = kDepth + 4; // row stride of a stage: a multiple of 4 floats, as WMMA needs for fp32,
                                // and 4 banks of skew between rows
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;

// Loads rows r0..r0+kTile-1, k k0..k0+kDepth-1 of X into s[row][k] (zeros outside rows x K), where
// X(row,k) = x[row*ld + k] (KContig) or x[k*ld + row]. Vec: the operand is 16-byte aligned with
// ld % 4 == 0, so a whole group of 4 along the contiguous dimension is one float4 load.
template <bool KContig, bool Vec>
__device__ __forceinline__ void stage(const float* x, int ld, int rows, int K, int r0, int k0, float (*s)[kLd]) {
    // kTile * kDepth / 4 = 1024 groups of 4, 4 per thread.
#pragma unroll
    for (int step = 0; step < kTile * kDepth / 4 / kThreads; step++) {
        int g = threadIdx.x + step * kThreads;
        // KContig: a group is 4 consecutive k of one row; otherwise 4 consecutive rows of one k.
        int row = KContig ? g / (kDepth / 4) : (g % (kTile / 4)) * 4;
        int k = KContig ? (g % (kDepth / 4)) * 4 : g / (kTile / 4);
        int gr = r0 + row, gk = k0 + k;
        float v[4];
        bool whole = KContig ? (gr < rows && gk + 3 < K) : (gk < K && gr + 3 < rows);
        if (Vec && whole) {
            float4 q = *reinterpret_cast<const float4*>(KContig ? x + (long long)gr * ld + gk : x + (long long)gk * ld + gr);
            v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
        } else {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int ri = KContig ? gr : gr + i, ki = KContig ? gk + i : gk;
                v[i] = (ri < rows && ki < K) ? x[KContig ? (long long)ri * ld + ki : (long long)ki * ld + ri] : 0.0f;
            }
        }
        if (KContig) {
            *reinterpret_cast<float4*>(&s[row][k]) = make_float4(v[0], v[1], v[2], v[3]);
        } else {
#pragma unroll
            for (int i = 0; i < 4; i++) s[row + i][k] = v[i];
        }
    }
}

template <bool AK, bool BK, bool Vec>
__global__ void __launch_bounds__(kThreads) gemm_tf32_kernel(float* c, int M, int Nc, int K, const float* a, int lda, const float* b,
                                                             int ldb, const float* bias, int accumulate) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    // 32-byte alignment: every fragment pointer below is a multiple of 8 floats from these bases.
    __shared__ __align__(128) float as[kTile][kLd];  // A(m0 + r, k0 + k)
    __shared__ __align__(128) float bs[kTile][kLd];  // B(k0 + k, n0 + r)
    __shared__ __align__(128) float cs[kWarps][16 * 16];  // one accumulator fragment per warp, for the epilogue
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int wm = (warp / 4) * 64, wn = (warp % 4) * 32;  // the warp's sub-tile in the block tile
    int m0 = blockIdx.y * kTile, n0 = blockIdx.x * kTile;

    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < K; k0 += kDepth) {
        stage<AK, Vec>(a, lda, M, K, m0, k0, as);
        stage<BK, Vec>(b, ldb, Nc, K, n0, k0, bs);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kDepth; kk += 8) {
            wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af[4];
            wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> bf[2];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                wmma::load_matrix_sync(af[i], &as[wm + i * 16][kk], kLd);
                to_tf32(af[i]);
            }
#pragma unroll
            for (int j = 0; j < 2; j++) {
                // Column-major B: element (k, n) at bs[n][k].
                wmma::load_matrix_sync(bf[j], &bs[wn + j * 16][kk], kLd);
                to_tf32(bf[j]);
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
        }
        __syncthreads();  // the stage is consumed before the next one overwrites it
    }

    // A fragment's element-to-lane map is unspecified, so each goes through shared memory to be
    // written with bounds, bias and accumulation known per element.
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(cs[warp], acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
#pragma unroll
            for (int e = lane; e < 16 * 16; e += 32) {
                int m = m0 + wm + i * 16 + e / 16, n = n0 + wn + j * 16 + e % 16;
                if (m < M && n < Nc) {
                    float v = cs[warp][e] + (bias != nullptr ? bias[n] : 0.0f);
                    long long o = (long long)m * Nc + n;
                    c[o] = accumulate ? c[o] + v : v;
                }
            }
            __syncwarp();  // read before the next fragment overwrites cs[warp]
        }
#else
    __trap();  // no TF32 tensor cores below sm_80; the launcher refuses such devices first
#endif
}

template <bool AK, bool BK>
int launch(float* c, int M, int Nc, int K, const float* a, int lda, const float* b, int ldb, const float* bias, int accumulate) {
    dim3 grid((unsigned)((Nc + kTile - 1) / kTile), (unsigned)((M + kTile - 1) / kTile));
    bool vec = hyper::aligned16(a) && hyper::aligned16(b) && lda % 4 == 0 && ldb % 4 == 0;
    if (vec) gemm_tf32_kernel<AK, BK, true><<<grid, kThreads>>>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    else gemm_tf32_kernel<AK, BK, false><<<grid, kThreads>>>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    return hyper::launched("matmul tf32");
}

}  // namespace

namespace hyper {

int require_tensor_cores(const char* op) {
    int device = 0, major = 0;
    HYPER_TRY(check(cudaGetDevice(&device), op));
    HYPER_TRY(check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), op));
    if (major < 8) return fail(HYPER_CUDA_BAD_ARGUMENT, "%s: TF32 tensor cores need compute capability 8.0 or later (this device: %d.x)", op, major);
    return 0;
}

int gemm_tf32(float* c, int M, int Nc, int K, const float* a, bool a_k, int lda, const float* b, bool b_k, int ldb, const float* bias,
              int accumulate) {
    HYPER_TRY(require_tensor_cores("matmul tf32"));
    if ((M + kTile - 1) / kTile > 65535) return fail(HYPER_CUDA_BAD_ARGUMENT, "matmul tf32: %d rows is too many", M);
    if (a_k && b_k) return launch<true, true>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    if (a_k) return launch<true, false>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    if (b_k) return launch<false, true>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    return launch<false, false>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
}

}  // namespace hyper
