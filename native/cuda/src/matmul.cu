// The fully connected layer: out[N,OC] = inp[N,C] . weight[OC,C]^T + bias, and its backward,
// as three GEMMs C[M,Nc] (+)= A[M,K] . B[K,Nc] over one of three kernels (the kernel lab):
//   0 naive            one thread per output, operands straight from global memory;
//   1 tiled            32x32 tiles staged in shared memory, one output per thread;
//   2 blocked          register-blocked: 128x128 block tiles, 8x8 outputs per thread, float4 loads, shared
//                      memory double-buffered so the next tile loads while this one multiplies;
//   3 tf32             TF32 tensor cores (tensorcore/matmul_tf32.cu, an optional part of the build).
// A and B are read in place, whichever way their memory runs:
//   forward  A = inp  (K contiguous),   B(k,n) = weight[n,k] (K contiguous)
//   dinp     A = dout (K contiguous),   B(k,n) = weight[k,n] (N contiguous)
//   dweight  A(m,k) = dout[k,m] (M contiguous), B = inp (N contiguous)
#include "common.cuh"
#include "tensorcore/tensor_cores.cuh"

namespace {

// Strided addressing for the simple kernels: A(m,k) = a[m*sam + k*sak], B(k,n) = b[k*sbk + n*sbn].
struct Strides {
    long long sam, sak, sbk, sbn;
};

// Writes one output: bias added when given, accumulated into c when asked.
__device__ __forceinline__ void store(float* c, long long i, float sum, const float* bias, int n, int accumulate) {
    if (bias != nullptr) sum += bias[n];
    c[i] = accumulate ? c[i] + sum : sum;
}

__global__ void gemm_naive(float* c, int M, int Nc, int K, const float* a, const float* b, Strides s, const float* bias, int accumulate) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    int m = blockIdx.y * blockDim.y + threadIdx.y;
    if (m >= M || n >= Nc) return;
    float sum = 0.0f;
    for (int k = 0; k < K; k++) sum += a[m * s.sam + k * s.sak] * b[k * s.sbk + n * s.sbn];
    store(c, (long long)m * Nc + n, sum, bias, n, accumulate);
}

constexpr int kTile = 32;

__global__ void gemm_tiled(float* c, int M, int Nc, int K, const float* a, const float* b, Strides s, const float* bias, int accumulate) {
    // +1 column: a tile written along either dimension stays free of bank conflicts.
    __shared__ float as[kTile][kTile + 1];  // as[m][k]
    __shared__ float bs[kTile][kTile + 1];  // bs[k][n]
    int tx = threadIdx.x, ty = threadIdx.y;
    int m0 = blockIdx.y * kTile, n0 = blockIdx.x * kTile;
    // Consecutive threads (tx) walk the operand's contiguous dimension so global loads coalesce.
    bool a_k_fast = s.sak == 1, b_n_fast = s.sbn == 1;
    float sum = 0.0f;
    for (int k0 = 0; k0 < K; k0 += kTile) {
        int ar = a_k_fast ? ty : tx, ak = a_k_fast ? tx : ty;
        int am = m0 + ar, akk = k0 + ak;
        as[ar][ak] = (am < M && akk < K) ? a[am * s.sam + akk * s.sak] : 0.0f;
        int bk = b_n_fast ? ty : tx, bc = b_n_fast ? tx : ty;
        int bkk = k0 + bk, bn = n0 + bc;
        bs[bk][bc] = (bkk < K && bn < Nc) ? b[bkk * s.sbk + bn * s.sbn] : 0.0f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < kTile; k++) sum += as[ty][k] * bs[k][tx];
        __syncthreads();
    }
    int m = m0 + ty, n = n0 + tx;
    if (m < M && n < Nc) store(c, (long long)m * Nc + n, sum, bias, n, accumulate);
}

constexpr int kBlock = 128;  // block tile is kBlock x kBlock outputs
constexpr int kDepth = 8;    // K step per shared-memory tile
constexpr int kThreads = 256;  // 16 x 16 threads, each 8 x 8 outputs

// Loads this thread's 4 values of the kBlock x kDepth tile of X(row, k), rows r0.., k0.., where
// X(row,k) = x[row*ld + k] (KContig) or x[k*ld + row]. Out-of-range values are 0. Vec: every
// group of 4 is 16-byte aligned, so an in-range group is one float4 load.
template <bool KContig, bool Vec>
__device__ __forceinline__ void load_tile(const float* x, int ld, int rows, int K, int r0, int k0, float (&reg)[4]) {
    int t = threadIdx.x;
    // KContig: 2 threads per row, 4 consecutive k each; otherwise 32 threads per k, 4 rows each.
    int row = KContig ? r0 + t / 2 : r0 + (t % 32) * 4;
    int k = KContig ? k0 + (t % 2) * 4 : k0 + t / 32;
    bool whole = KContig ? (row < rows && k + 3 < K) : (k < K && row + 3 < rows);
    if (Vec && whole) {
        const float* src = KContig ? x + (long long)row * ld + k : x + (long long)k * ld + row;
        float4 v = *reinterpret_cast<const float4*>(src);
        reg[0] = v.x; reg[1] = v.y; reg[2] = v.z; reg[3] = v.w;
        return;
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int ri = KContig ? row : row + i, ki = KContig ? k + i : k;
        reg[i] = (ri < rows && ki < K) ? x[(KContig ? (long long)ri * ld + ki : (long long)ki * ld + ri)] : 0.0f;
    }
}

// Stores the values load_tile gave this thread into a k-major tile s[k][row].
template <bool KContig>
__device__ __forceinline__ void store_tile(float (*s)[kBlock], const float (&reg)[4]) {
    int t = threadIdx.x;
    if (KContig) {
        int row = t / 2, k = (t % 2) * 4;
#pragma unroll
        for (int i = 0; i < 4; i++) s[k + i][row] = reg[i];
    } else {
        int k = t / 32, row = (t % 32) * 4;
        *reinterpret_cast<float4*>(&s[k][row]) = make_float4(reg[0], reg[1], reg[2], reg[3]);
    }
}

template <bool AKContig, bool BKContig, bool Vec>
__global__ void __launch_bounds__(kThreads) gemm_blocked(float* c, int M, int Nc, int K, const float* a, int lda,
                                                                   const float* b, int ldb, const float* bias, int accumulate) {
    __shared__ __align__(16) float as[2][kDepth][kBlock];
    __shared__ __align__(16) float bs[2][kDepth][kBlock];
    // Thread (tx, ty) owns rows {ty*4 + i, 64 + ty*4 + i} and columns {tx*4 + j, 64 + tx*4 + j}
    // (i, j < 4): two float4 reads per operand per k, and a warp's B reads are 64 consecutive floats.
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    int m0 = blockIdx.y * kBlock, n0 = blockIdx.x * kBlock;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

    float ra[4], rb[4];
    load_tile<AKContig, Vec>(a, lda, M, K, m0, 0, ra);
    load_tile<BKContig, Vec>(b, ldb, Nc, K, n0, 0, rb);
    store_tile<AKContig>(as[0], ra);
    store_tile<BKContig>(bs[0], rb);
    __syncthreads();

    int tiles = (K + kDepth - 1) / kDepth;
    for (int t = 0; t < tiles; t++) {
        int cur = t & 1;
        bool more = t + 1 < tiles;
        // Start the next tile's global loads now; they land in registers while this tile multiplies.
        if (more) {
            load_tile<AKContig, Vec>(a, lda, M, K, m0, (t + 1) * kDepth, ra);
            load_tile<BKContig, Vec>(b, ldb, Nc, K, n0, (t + 1) * kDepth, rb);
        }
#pragma unroll
        for (int k = 0; k < kDepth; k++) {
            float4 a0 = *reinterpret_cast<const float4*>(&as[cur][k][ty * 4]);
            float4 a1 = *reinterpret_cast<const float4*>(&as[cur][k][64 + ty * 4]);
            float4 b0 = *reinterpret_cast<const float4*>(&bs[cur][k][tx * 4]);
            float4 b1 = *reinterpret_cast<const float4*>(&bs[cur][k][64 + tx * 4]);
            float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        // The other buffer was last read in iteration t-1, which ended in a barrier: safe to fill.
        if (more) {
            store_tile<AKContig>(as[cur ^ 1], ra);
            store_tile<BKContig>(bs[cur ^ 1], rb);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 8; i++) {
        int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            int n = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
            if (n < Nc) store(c, (long long)m * Nc + n, acc[i][j], bias, n, accumulate);
        }
    }
}

template <bool AK, bool BK>
int launch_blocked(float* c, int M, int Nc, int K, const float* a, int lda, const float* b, int ldb, const float* bias, int accumulate) {
    dim3 grid((unsigned)((Nc + kBlock - 1) / kBlock), (unsigned)((M + kBlock - 1) / kBlock));
    bool vec = hyper::aligned16(a) && hyper::aligned16(b) && lda % 4 == 0 && ldb % 4 == 0;
    if (vec) gemm_blocked<AK, BK, true><<<grid, kThreads>>>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    else gemm_blocked<AK, BK, false><<<grid, kThreads>>>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
    return hyper::launched("matmul blocked");
}

// C[M,Nc] (+)= A[M,K] . B[K,Nc] (+ bias[n]); C is row-major with leading dimension Nc.
// a_k: A(m,k) = a[m*lda + k], else a[k*lda + m]. b_k: B(k,n) = b[n*ldb + k], else b[k*ldb + n].
int gemm(int variant, float* c, int M, int Nc, int K, const float* a, bool a_k, int lda, const float* b, bool b_k, int ldb,
         const float* bias, int accumulate) {
    if (M == 0 || Nc == 0) return 0;
    Strides s{a_k ? lda : 1, a_k ? 1 : lda, b_k ? 1 : ldb, b_k ? ldb : 1};
    switch (variant) {
        case HYPER_MATMUL_NAIVE: {
            dim3 block(32, 8);
            dim3 grid((unsigned)((Nc + 31) / 32), (unsigned)((M + 7) / 8));
            if (grid.y > 65535) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "matmul naive: %d rows is too many", M);
            gemm_naive<<<grid, block>>>(c, M, Nc, K, a, b, s, bias, accumulate);
            return hyper::launched("matmul naive");
        }
        case HYPER_MATMUL_TILED: {
            dim3 block(kTile, kTile);
            dim3 grid((unsigned)((Nc + kTile - 1) / kTile), (unsigned)((M + kTile - 1) / kTile));
            if (grid.y > 65535) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "matmul tiled: %d rows is too many", M);
            gemm_tiled<<<grid, block>>>(c, M, Nc, K, a, b, s, bias, accumulate);
            return hyper::launched("matmul tiled");
        }
        case HYPER_MATMUL_BLOCKED:
            if ((M + kBlock - 1) / kBlock > 65535) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "matmul: %d rows is too many", M);
            if (a_k && b_k) return launch_blocked<true, true>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
            if (a_k) return launch_blocked<true, false>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
            if (b_k) return launch_blocked<false, true>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
            return launch_blocked<false, false>(c, M, Nc, K, a, lda, b, ldb, bias, accumulate);
        case HYPER_MATMUL_TF32:
#ifdef HYPER_HAVE_TENSOR_CORES
            return hyper::gemm_tf32(c, M, Nc, K, a, a_k, lda, b, b_k, ldb, bias, accumulate);
#else
            return hyper::fail(HYPER_CUDA_NOT_BUILT, "matmul tf32: this libhypercuda was built without its tensor-core kernels");
#endif
        default:
            return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "matmul: unknown variant %d", variant);
    }
}

// out[c] += sum over rows of x[r, c]; each block sums a chunk of rows, then one atomic per column.
constexpr int kRowsPerChunk = 256;

__global__ void column_sum(float* out, const float* x, int rows, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    int r0 = blockIdx.y * kRowsPerChunk, r1 = min(rows, r0 + kRowsPerChunk);
    float sum = 0.0f;
    for (int r = r0; r < r1; r++) sum += x[(long long)r * cols + c];
    atomicAdd(&out[c], sum);
}

}  // namespace

extern "C" {

int hyper_cuda_matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC, int variant) {
    if (N < 0 || C < 0 || OC < 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "matmul: negative dimension (N=%d, C=%d, OC=%d)", N, C, OC);
    return gemm(variant, out, N, OC, C, inp, true, C, weight, true, C, bias, 0);
}

int hyper_cuda_matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                               int N, int C, int OC, int variant) {
    if (N < 0 || C < 0 || OC < 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "matmul: negative dimension (N=%d, C=%d, OC=%d)", N, C, OC);
    // dinp[N,C] += dout[N,OC] . weight[OC,C]
    if (dinp != nullptr) HYPER_TRY(gemm(variant, dinp, N, C, OC, dout, true, OC, weight, false, C, nullptr, 1));
    // dweight[OC,C] += dout^T . inp (K = N rows)
    HYPER_TRY(gemm(variant, dweight, OC, C, N, dout, false, OC, inp, false, C, nullptr, 1));
    if (dbias != nullptr && N > 0 && OC > 0) {
        dim3 grid(hyper::blocks_for(OC, 256), (unsigned)((N + kRowsPerChunk - 1) / kRowsPerChunk));
        column_sum<<<grid, 256>>>(dbias, dout, N, OC);
        HYPER_TRY(hyper::launched("matmul dbias"));
    }
    return 0;
}

}  // extern "C"
