// Exact multi-head attention. Layouts: qkv[B,T,3C] (q, k, v per token; head h in channels
// [h*hs, (h+1)*hs) of each), out[B,T,C], lse[B,NH,T] = log sum_j exp(s_ij), s_ij = q_i.k_j/sqrt(hs).
// The flash forward is also grouped-query attention's (gqa.cu), through attention.cuh.
//
// Flash-style forward (variant 1): a block takes 8 query rows of one (batch, head), one warp
// per row; 32-key tiles of K and V are staged in shared memory and each lane scores one key.
// The softmax is online: a running max m and sum l, the output rescaled by exp(m_old - m_new)
// whenever the max grows, so no row of scores is ever stored. The backward recomputes each
// probability as exp(s_ij - lse_i) (FlashAttention-2): one kernel for dq (a warp per query row,
// looping over key tiles), one for dk and dv (a warp per key row, looping over query tiles), so
// every gradient element has one writer and no atomics are needed.
//
// Variant 2 (flash_tf32) is the flash forward on TF32 tensor cores, tensorcore/attention_tf32.cu, an
// optional part of the build.
//
// Naive forward (variant 0): one thread per query row, three passes over the keys (max, sum,
// weighted sum), straight from global memory.
#include "attention.cuh"
#include "tensorcore/tensor_cores.cuh"

namespace {

constexpr int kMaxHead = hyper::kAttentionMaxHead;
constexpr int kPerLane = kMaxHead / 32;
constexpr int kRows = 8;          // rows (warps) per block
constexpr int kTileKeys = 32;     // one key (or query) per lane

using Problem = hyper::AttentionProblem;

__device__ __forceinline__ int visible_keys(const Problem& p, int i) {
    return p.causal ? min(p.Tk, p.q_pos + i + 1) : p.Tk;
}

__global__ void __launch_bounds__(kRows * 32) attention_flash(Problem p) {
    __shared__ float qs[kRows][kMaxHead];
    __shared__ float ks[kTileKeys][kMaxHead + 1];  // +1: lanes read different rows, same column
    __shared__ float vs[kTileKeys][kMaxHead];
    int b = blockIdx.y / p.NH, h = blockIdx.y % p.NH, g = h / p.group;  // g: the key/value head
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int i = blockIdx.x * kRows + warp;
    bool active = i < p.Tq;
    const float* q = p.q + b * p.q_batch + (long long)i * p.q_row + h * p.hs;
    for (int d = lane; d < p.hs; d += 32) qs[warp][d] = active ? q[d] : 0.0f;
    int visible = active ? visible_keys(p, i) : 0;
    int block_keys = visible_keys(p, min(p.Tq, ((int)blockIdx.x + 1) * kRows) - 1);

    float m = -INFINITY, l = 0.0f, acc[kPerLane];
#pragma unroll
    for (int c = 0; c < kPerLane; c++) acc[c] = 0.0f;

    for (int j0 = 0; j0 < block_keys; j0 += kTileKeys) {
        __syncthreads();  // the previous tile is consumed (and qs is written before its first use)
        for (int e = threadIdx.x; e < kTileKeys * p.hs; e += blockDim.x) {
            int jj = e / p.hs, d = e % p.hs, j = j0 + jj;
            bool ok = j < p.Tk;
            ks[jj][d] = ok ? p.k[b * p.k_batch + (long long)j * p.k_row + g * p.hs + d] : 0.0f;
            vs[jj][d] = ok ? p.v[b * p.v_batch + (long long)j * p.v_row + g * p.hs + d] : 0.0f;
        }
        __syncthreads();
        if (j0 >= visible) continue;  // warp-uniform: this row sees none of the tile
        int j = j0 + lane;
        float s = -INFINITY;
        if (j < visible) {
            float dot = 0.0f;
            for (int d = 0; d < p.hs; d++) dot += qs[warp][d] * ks[lane][d];
            s = dot * p.scale;
        }
        // Key j0 is visible to this row, so the tile max and m_new are finite.
        float m_new = fmaxf(m, hyper::warp_max(s));
        float pj = j < visible ? expf(s - m_new) : 0.0f;
        float rescale = expf(m - m_new);  // 0 on the first tile (m = -inf)
        l = l * rescale + hyper::warp_sum(pj);
#pragma unroll
        for (int c = 0; c < kPerLane; c++) acc[c] *= rescale;
        int n = min(kTileKeys, visible - j0);
        for (int jj = 0; jj < n; jj++) {
            float pb = __shfl_sync(0xffffffffu, pj, jj);
#pragma unroll
            for (int c = 0; c < kPerLane; c++) {
                int d = lane + 32 * c;
                if (d < p.hs) acc[c] += pb * vs[jj][d];
            }
        }
        m = m_new;
    }
    if (!active) return;
    float* o = p.out + b * p.out_batch + (long long)i * p.out_row + h * p.hs;
#pragma unroll
    for (int c = 0; c < kPerLane; c++) {
        int d = lane + 32 * c;
        if (d < p.hs) o[d] = acc[c] / l;
    }
    if (p.lse != nullptr && lane == 0) p.lse[(long long)blockIdx.y * p.Tq + i] = m + logf(l);
}

__global__ void attention_naive(float* out, float* lse, const float* qkv, int B, int T, int C, int NH, int causal, float scale) {
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= (long long)B * NH * T) return;
    int hs = C / NH, i = (int)(row % T), h = (int)(row / T % NH), b = (int)(row / T / NH);
    const float* q = qkv + ((long long)b * T + i) * 3 * C + h * hs;
    int visible = causal ? i + 1 : T;
    float mx = -INFINITY;
    for (int j = 0; j < visible; j++) {
        const float* k = qkv + ((long long)b * T + j) * 3 * C + C + h * hs;
        float s = 0.0f;
        for (int d = 0; d < hs; d++) s += q[d] * k[d];
        mx = fmaxf(mx, s * scale);
    }
    float sum = 0.0f;
    for (int j = 0; j < visible; j++) {
        const float* k = qkv + ((long long)b * T + j) * 3 * C + C + h * hs;
        float s = 0.0f;
        for (int d = 0; d < hs; d++) s += q[d] * k[d];
        sum += expf(s * scale - mx);
    }
    float* o = out + ((long long)b * T + i) * C + h * hs;
    for (int d = 0; d < hs; d++) o[d] = 0.0f;
    for (int j = 0; j < visible; j++) {
        const float* k = qkv + ((long long)b * T + j) * 3 * C + C + h * hs;
        const float* v = k + C;
        float s = 0.0f;
        for (int d = 0; d < hs; d++) s += q[d] * k[d];
        float pj = expf(s * scale - mx) / sum;
        for (int d = 0; d < hs; d++) o[d] += pj * v[d];
    }
    lse[row] = mx + logf(sum);
}

// D[b,h,i] = dout_i . out_i over the head's channels: the softmax Jacobian's diagonal term.
__global__ void attention_row_dot(float* D, const float* dout, const float* out, int B, int T, int C, int NH) {
    long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= (long long)B * NH * T) return;
    int hs = C / NH, i = (int)(row % T), h = (int)(row / T % NH), b = (int)(row / T / NH);
    long long off = ((long long)b * T + i) * C + h * hs;
    float s = 0.0f;
    for (int d = lane; d < hs; d += 32) s += dout[off + d] * out[off + d];
    s = hyper::warp_sum(s);
    if (lane == 0) D[row] = s;
}

// dq_i += sum_j ds_ij k_j, ds_ij = p_ij (dout_i.v_j - D_i) / sqrt(hs); a warp per query row.
__global__ void __launch_bounds__(kRows * 32) attention_backward_dq(float* dqkv, const float* dout, const float* qkv, const float* lse,
                                                                   const float* D, int T, int C, int NH, int causal, float scale) {
    __shared__ float qs[kRows][kMaxHead];
    __shared__ float gs[kRows][kMaxHead];
    __shared__ float ks[kTileKeys][kMaxHead + 1];
    __shared__ float vs[kTileKeys][kMaxHead + 1];
    int hs = C / NH, b = blockIdx.y / NH, h = blockIdx.y % NH;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int i = blockIdx.x * kRows + warp;
    bool active = i < T;
    long long q_off = ((long long)b * T + i) * 3 * C + h * hs, g_off = ((long long)b * T + i) * C + h * hs;
    for (int d = lane; d < hs; d += 32) {
        qs[warp][d] = active ? qkv[q_off + d] : 0.0f;
        gs[warp][d] = active ? dout[g_off + d] : 0.0f;
    }
    long long row = (long long)blockIdx.y * T + i;
    float row_lse = active ? lse[row] : 0.0f, row_D = active ? D[row] : 0.0f;
    int visible = active ? (causal ? i + 1 : T) : 0;
    int block_keys = causal ? min(T, ((int)blockIdx.x + 1) * kRows) : T;
    float acc[kPerLane];
#pragma unroll
    for (int c = 0; c < kPerLane; c++) acc[c] = 0.0f;

    for (int j0 = 0; j0 < block_keys; j0 += kTileKeys) {
        __syncthreads();
        for (int e = threadIdx.x; e < kTileKeys * hs; e += blockDim.x) {
            int jj = e / hs, d = e % hs, j = j0 + jj;
            long long k_off = ((long long)b * T + j) * 3 * C + C + h * hs + d;
            ks[jj][d] = j < T ? qkv[k_off] : 0.0f;
            vs[jj][d] = j < T ? qkv[k_off + C] : 0.0f;
        }
        __syncthreads();
        if (j0 >= visible) continue;
        int j = j0 + lane;
        float ds = 0.0f;
        if (j < visible) {
            float s = 0.0f, dp = 0.0f;
            for (int d = 0; d < hs; d++) {
                s += qs[warp][d] * ks[lane][d];
                dp += gs[warp][d] * vs[lane][d];
            }
            float pj = expf(s * scale - row_lse);
            ds = pj * (dp - row_D) * scale;
        }
        int n = min(kTileKeys, visible - j0);
        for (int jj = 0; jj < n; jj++) {
            float db = __shfl_sync(0xffffffffu, ds, jj);
#pragma unroll
            for (int c = 0; c < kPerLane; c++) {
                int d = lane + 32 * c;
                if (d < hs) acc[c] += db * ks[jj][d];
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int c = 0; c < kPerLane; c++) {
        int d = lane + 32 * c;
        if (d < hs) dqkv[q_off + d] += acc[c];
    }
}

// dv_j += sum_i p_ij dout_i; dk_j += sum_i ds_ij q_i; a warp per key row.
__global__ void __launch_bounds__(kRows * 32) attention_backward_dkdv(float* dqkv, const float* dout, const float* qkv, const float* lse,
                                                                     const float* D, int T, int C, int NH, int causal, float scale) {
    __shared__ float ks[kRows][kMaxHead];
    __shared__ float vs[kRows][kMaxHead];
    __shared__ float qs[kTileKeys][kMaxHead + 1];
    __shared__ float gs[kTileKeys][kMaxHead + 1];
    __shared__ float lses[kTileKeys], ds_row[kTileKeys];
    int hs = C / NH, b = blockIdx.y / NH, h = blockIdx.y % NH;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int j = blockIdx.x * kRows + warp;
    bool active = j < T;
    long long k_off = ((long long)b * T + j) * 3 * C + C + h * hs;
    for (int d = lane; d < hs; d += 32) {
        ks[warp][d] = active ? qkv[k_off + d] : 0.0f;
        vs[warp][d] = active ? qkv[k_off + C + d] : 0.0f;
    }
    float dk[kPerLane], dv[kPerLane];
#pragma unroll
    for (int c = 0; c < kPerLane; c++) dk[c] = dv[c] = 0.0f;
    // Causal: only queries i >= j see key j; start at the tile holding the block's first key.
    int start = causal ? ((int)blockIdx.x * kRows / kTileKeys) * kTileKeys : 0;

    for (int i0 = start; i0 < T; i0 += kTileKeys) {
        __syncthreads();
        for (int e = threadIdx.x; e < kTileKeys * hs; e += blockDim.x) {
            int ii = e / hs, d = e % hs, i = i0 + ii;
            qs[ii][d] = i < T ? qkv[((long long)b * T + i) * 3 * C + h * hs + d] : 0.0f;
            gs[ii][d] = i < T ? dout[((long long)b * T + i) * C + h * hs + d] : 0.0f;
        }
        if (threadIdx.x < kTileKeys) {
            int i = i0 + threadIdx.x;
            lses[threadIdx.x] = i < T ? lse[(long long)blockIdx.y * T + i] : 0.0f;
            ds_row[threadIdx.x] = i < T ? D[(long long)blockIdx.y * T + i] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        int i = i0 + lane;
        float pi = 0.0f, dsi = 0.0f;
        if (i < T && (!causal || j <= i)) {
            float s = 0.0f, dp = 0.0f;
            for (int d = 0; d < hs; d++) {
                s += qs[lane][d] * ks[warp][d];
                dp += gs[lane][d] * vs[warp][d];
            }
            pi = expf(s * scale - lses[lane]);
            dsi = pi * (dp - ds_row[lane]) * scale;
        }
        int n = min(kTileKeys, T - i0);
        for (int ii = 0; ii < n; ii++) {
            float pb = __shfl_sync(0xffffffffu, pi, ii), db = __shfl_sync(0xffffffffu, dsi, ii);
#pragma unroll
            for (int c = 0; c < kPerLane; c++) {
                int d = lane + 32 * c;
                if (d < hs) {
                    dv[c] += pb * gs[ii][d];
                    dk[c] += db * qs[ii][d];
                }
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int c = 0; c < kPerLane; c++) {
        int d = lane + 32 * c;
        if (d < hs) {
            dqkv[k_off + d] += dk[c];
            dqkv[k_off + C + d] += dv[c];
        }
    }
}

// Copies the new tokens' k and v from qkv[B,Tq,3C] into the caches at positions pos..pos+Tq-1.
__global__ void kv_append(float* k_cache, float* v_cache, const float* qkv, int B, int Tq, int pos, int maxT, int C) {
    long long n = (long long)B * Tq * C;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        int c = (int)(e % C);
        long long bt = e / C;
        int t = (int)(bt % Tq), b = (int)(bt / Tq);
        long long src = bt * 3 * C + C + c, dst = ((long long)b * maxT + pos + t) * C + c;
        k_cache[dst] = qkv[src];
        v_cache[dst] = qkv[src + C];
    }
}

int check_heads(const char* op, int B, int T, int C, int NH) {
    if (B < 0 || T < 0 || C <= 0 || NH <= 0 || C % NH != 0)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: bad dimensions (B=%d, T=%d, C=%d, NH=%d)", op, B, T, C, NH);
    if (C / NH > kMaxHead) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: head size %d is over the kernel's %d", op, C / NH, kMaxHead);
    if ((long long)B * NH > 65535) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: B*NH = %lld is over 65535", op, (long long)B * NH);
    return 0;
}

}  // namespace

int hyper::launch_attention_flash(const Problem& p, int B) {
    dim3 grid((unsigned)((p.Tq + kRows - 1) / kRows), (unsigned)(B * p.NH));
    attention_flash<<<grid, kRows * 32>>>(p);
    return hyper::launched("attention flash");
}

extern "C" {

int hyper_cuda_attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH, int causal, int variant) {
    HYPER_TRY(check_heads("attention", B, T, C, NH));
    if (B == 0 || T == 0) return 0;
    float scale = 1.0f / sqrtf((float)(C / NH));
    if (variant == HYPER_ATTENTION_NAIVE) {
        long long rows = (long long)B * NH * T;
        attention_naive<<<hyper::blocks_for(rows, 128), 128>>>(out, lse, qkv, B, T, C, NH, causal, scale);
        return hyper::launched("attention naive");
    }
    if (variant != HYPER_ATTENTION_FLASH && variant != HYPER_ATTENTION_FLASH_TF32)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "attention: unknown variant %d", variant);
    long long row = 3LL * C, batch = (long long)T * 3 * C;
    Problem p{out, lse, qkv, qkv + C, qkv + 2 * C, row, row, row, C, batch, batch, batch, (long long)T * C, T, T, NH, 1, C / NH, causal, 0, scale};
    if (variant == HYPER_ATTENTION_FLASH) return hyper::launch_attention_flash(p, B);
#ifdef HYPER_HAVE_TENSOR_CORES
    return hyper::launch_attention_flash_tf32(p, B);
#else
    return hyper::fail(HYPER_CUDA_NOT_BUILT, "attention flash_tf32: this libhypercuda was built without its tensor-core kernels");
#endif
}

int hyper_cuda_attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                                  int B, int T, int C, int NH, int causal) {
    HYPER_TRY(check_heads("attention backward", B, T, C, NH));
    if (B == 0 || T == 0) return 0;
    float scale = 1.0f / sqrtf((float)(C / NH));
    long long rows = (long long)B * NH * T;
    void* D = nullptr;
    HYPER_TRY(hyper::scratch(hyper::kScratchRows, (size_t)rows * sizeof(float), &D));
    attention_row_dot<<<hyper::blocks_for(rows, 8), 256>>>((float*)D, dout, out, B, T, C, NH);
    HYPER_TRY(hyper::launched("attention backward D"));
    dim3 grid((unsigned)((T + kRows - 1) / kRows), (unsigned)(B * NH));
    attention_backward_dq<<<grid, kRows * 32>>>(dqkv, dout, qkv, lse, (const float*)D, T, C, NH, causal, scale);
    HYPER_TRY(hyper::launched("attention backward dq"));
    attention_backward_dkdv<<<grid, kRows * 32>>>(dqkv, dout, qkv, lse, (const float*)D, T, C, NH, causal, scale);
    return hyper::launched("attention backward dk dv");
}

int hyper_cuda_attention_kv_forward(float* out, float* k_cache, float* v_cache, const float* qkv, int B, int Tq, int pos, int maxT, int C, int NH) {
    HYPER_TRY(check_heads("attention kv", B, Tq, C, NH));
    if (pos < 0 || maxT < 0 || (long long)pos + Tq > maxT)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "attention kv: tokens %d..%d do not fit a cache of %d positions", pos, pos + Tq - 1, maxT);
    if (B == 0 || Tq == 0) return 0;
    long long n = (long long)B * Tq * C;
    kv_append<<<hyper::grid_for(n, 256), 256>>>(k_cache, v_cache, qkv, B, Tq, pos, maxT, C);
    HYPER_TRY(hyper::launched("attention kv append"));
    float scale = 1.0f / sqrtf((float)(C / NH));
    long long q_row = 3LL * C, cache_batch = (long long)maxT * C;
    Problem p{out, nullptr, qkv, k_cache, v_cache, q_row, C, C, C, (long long)Tq * 3 * C, cache_batch, cache_batch, (long long)Tq * C,
              Tq, pos + Tq, NH, 1, C / NH, 1, pos, scale};
    return hyper::launch_attention_flash(p, B);
}

}  // extern "C"
