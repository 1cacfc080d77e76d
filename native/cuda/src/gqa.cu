// Grouped-query attention (Hyper.Kernels.Reference.GroupedQueryAttention): causal attention whose
// NKV key/value heads are each shared by a group of G = NH/NKV query heads; query head h reads
// key/value head h / G. Layouts: q/out/dq/dout[B,T,NH,hs], k/v/dk/dv[B,T,NKV,hs] (a token's heads
// side by side, each tensor its own buffer), lse and D [B,NH,T], caches [B,maxT,NKV,hs].
//
// The forward and decoding run attention.cu's flash kernel with group = G. The backward is
// attention.cu's in FlashAttention-2's form, with the grouped layouts: one kernel for dq (a warp
// per query row, looping over the key tiles of its key/value head), one for dk and dv (a warp per
// key row of one key/value head, looping over the query tiles of each of the G query heads that
// read it, in head order), so every gradient element has one writer and no atomics are needed.
#include <cmath>

#include "attention.cuh"

namespace {

constexpr int kMaxHead = hyper::kAttentionMaxHead;
constexpr int kPerLane = kMaxHead / 32;
constexpr int kRows = 8;       // rows (warps) per block
constexpr int kTileKeys = 32;  // one key (or query) per lane

// D[b,h,i] = dout_i . out_i over the head's channels: the softmax Jacobian's diagonal term.
__global__ void gqa_row_dot(float* D, const float* dout, const float* out, int B, int T, int NH, int hs) {
    long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= (long long)B * NH * T) return;
    int i = (int)(row % T), h = (int)(row / T % NH), b = (int)(row / T / NH);
    long long off = (((long long)b * T + i) * NH + h) * hs;
    float s = 0.0f;
    for (int d = lane; d < hs; d += 32) s += dout[off + d] * out[off + d];
    s = hyper::warp_sum(s);
    if (lane == 0) D[row] = s;
}

// dq_i += sum_j ds_ij k_j, ds_ij = p_ij (dout_i.v_j - D_i) / sqrt(hs); a warp per query row.
__global__ void __launch_bounds__(kRows * 32) gqa_backward_dq(float* dq, const float* dout, const float* q, const float* k, const float* v,
                                                             const float* lse, const float* D, int T, int NH, int NKV, int hs, float scale) {
    __shared__ float qs[kRows][kMaxHead];
    __shared__ float gs[kRows][kMaxHead];
    __shared__ float ks[kTileKeys][kMaxHead + 1];
    __shared__ float vs[kTileKeys][kMaxHead + 1];
    int b = blockIdx.y / NH, h = blockIdx.y % NH, g = h / (NH / NKV);
    long long kvw = (long long)NKV * hs;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int i = blockIdx.x * kRows + warp;
    bool active = i < T;
    long long q_off = (((long long)b * T + i) * NH + h) * hs;
    for (int d = lane; d < hs; d += 32) {
        qs[warp][d] = active ? q[q_off + d] : 0.0f;
        gs[warp][d] = active ? dout[q_off + d] : 0.0f;
    }
    long long row = (long long)blockIdx.y * T + i;
    float row_lse = active ? lse[row] : 0.0f, row_D = active ? D[row] : 0.0f;
    int visible = active ? i + 1 : 0;
    int block_keys = min(T, ((int)blockIdx.x + 1) * kRows);
    float acc[kPerLane];
#pragma unroll
    for (int c = 0; c < kPerLane; c++) acc[c] = 0.0f;

    for (int j0 = 0; j0 < block_keys; j0 += kTileKeys) {
        __syncthreads();  // the previous tile is consumed (and qs, gs are written before their first use)
        for (int e = threadIdx.x; e < kTileKeys * hs; e += blockDim.x) {
            int jj = e / hs, d = e % hs, j = j0 + jj;
            long long kv_off = ((long long)b * T + j) * kvw + (long long)g * hs + d;
            ks[jj][d] = j < T ? k[kv_off] : 0.0f;
            vs[jj][d] = j < T ? v[kv_off] : 0.0f;
        }
        __syncthreads();
        if (j0 >= visible) continue;  // warp-uniform: this row sees none of the tile
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
        if (d < hs) dq[q_off + d] += acc[c];
    }
}

// dv_j += sum_h sum_i p_ij dout_i; dk_j += sum_h sum_i ds_ij q_i over the group's query heads h;
// a warp per key row of key/value head g. Grid (ceil(T/kRows), B*NKV).
__global__ void __launch_bounds__(kRows * 32) gqa_backward_dkdv(float* dk, float* dv, const float* dout, const float* q, const float* k,
                                                               const float* v, const float* lse, const float* D, int T, int NH, int NKV,
                                                               int hs, float scale) {
    __shared__ float ks[kRows][kMaxHead];
    __shared__ float vs[kRows][kMaxHead];
    __shared__ float qs[kTileKeys][kMaxHead + 1];
    __shared__ float gs[kTileKeys][kMaxHead + 1];
    __shared__ float lses[kTileKeys], ds_row[kTileKeys];
    int G = NH / NKV, b = blockIdx.y / NKV, g = blockIdx.y % NKV;
    long long kvw = (long long)NKV * hs;
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    int j = blockIdx.x * kRows + warp;
    bool active = j < T;
    long long kv_off = ((long long)b * T + j) * kvw + (long long)g * hs;
    for (int d = lane; d < hs; d += 32) {
        ks[warp][d] = active ? k[kv_off + d] : 0.0f;
        vs[warp][d] = active ? v[kv_off + d] : 0.0f;
    }
    float dka[kPerLane], dva[kPerLane];
#pragma unroll
    for (int c = 0; c < kPerLane; c++) dka[c] = dva[c] = 0.0f;
    // Causal: only queries i >= j see key j; start at the tile holding the block's first key.
    int start = ((int)blockIdx.x * kRows / kTileKeys) * kTileKeys;

    for (int h = g * G; h < (g + 1) * G; h++) {
        long long rows = ((long long)b * NH + h) * T;  // this head's lse and D rows start here
        for (int i0 = start; i0 < T; i0 += kTileKeys) {
            __syncthreads();  // the previous tile is consumed (and ks, vs are written before their first use)
            for (int e = threadIdx.x; e < kTileKeys * hs; e += blockDim.x) {
                int ii = e / hs, d = e % hs, i = i0 + ii;
                long long off = (((long long)b * T + i) * NH + h) * hs + d;
                qs[ii][d] = i < T ? q[off] : 0.0f;
                gs[ii][d] = i < T ? dout[off] : 0.0f;
            }
            if (threadIdx.x < kTileKeys) {
                int i = i0 + threadIdx.x;
                lses[threadIdx.x] = i < T ? lse[rows + i] : 0.0f;
                ds_row[threadIdx.x] = i < T ? D[rows + i] : 0.0f;
            }
            __syncthreads();
            if (!active) continue;  // warp-uniform
            int i = i0 + lane;
            float pi = 0.0f, dsi = 0.0f;
            if (i < T && j <= i) {
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
                        dva[c] += pb * gs[ii][d];
                        dka[c] += db * qs[ii][d];
                    }
                }
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int c = 0; c < kPerLane; c++) {
        int d = lane + 32 * c;
        if (d < hs) {
            dk[kv_off + d] += dka[c];
            dv[kv_off + d] += dva[c];
        }
    }
}

// Copies the new tokens' key/value heads, k, v[B,Tq,NKV,hs] (rows of kvw floats), into the caches
// at positions pos..pos+Tq-1.
__global__ void gqa_kv_append(float* k_cache, float* v_cache, const float* k, const float* v, int Tq, int pos, int maxT, long long kvw,
                              long long n) {
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (long long)gridDim.x * blockDim.x) {
        long long c = e % kvw, bt = e / kvw, b = bt / Tq;
        int t = (int)(bt % Tq);
        long long dst = (b * maxT + pos + t) * kvw + c;
        k_cache[dst] = k[e];
        v_cache[dst] = v[e];
    }
}

int check_gqa(const char* op, int B, int T, int NH, int NKV, int hs) {
    if (B < 0 || T < 0 || NH <= 0 || NKV <= 0 || hs <= 0)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: bad dimensions (B=%d, T=%d, NH=%d, NKV=%d, hs=%d)", op, B, T, NH, NKV, hs);
    if (NH % NKV != 0)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: NH=%d query heads do not split into NKV=%d key/value groups", op, NH, NKV);
    if (hs > kMaxHead) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: head size %d is over the kernel's %d", op, hs, kMaxHead);
    if ((long long)B * NH > 65535) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: B*NH = %lld is over 65535", op, (long long)B * NH);
    return 0;
}

}  // namespace

extern "C" {

int hyper_cuda_grouped_query_attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int B, int T, int NH,
                                               int NKV, int hs) {
    HYPER_TRY(check_gqa("grouped-query attention", B, T, NH, NKV, hs));
    if (B == 0 || T == 0) return 0;
    float scale = 1.0f / sqrtf((float)hs);
    long long C = (long long)NH * hs, kvw = (long long)NKV * hs;
    hyper::AttentionProblem p{out, lse, q, k, v, C, kvw, kvw, C, T * C, T * kvw, T * kvw, T * C, T, T, NH, NH / NKV, hs, 1, 0, scale};
    return hyper::launch_attention_flash(p, B);
}

int hyper_cuda_grouped_query_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                                const float* v, const float* out, const float* lse, int B, int T, int NH, int NKV, int hs) {
    HYPER_TRY(check_gqa("grouped-query attention backward", B, T, NH, NKV, hs));
    if (B == 0 || T == 0) return 0;
    float scale = 1.0f / sqrtf((float)hs);
    long long rows = (long long)B * NH * T;
    void* D = nullptr;
    HYPER_TRY(hyper::scratch(hyper::kScratchRows, (size_t)rows * sizeof(float), &D));
    gqa_row_dot<<<hyper::blocks_for(rows, 8), 256>>>((float*)D, dout, out, B, T, NH, hs);
    HYPER_TRY(hyper::launched("grouped-query attention backward D"));
    unsigned tiles = (unsigned)((T + kRows - 1) / kRows);
    gqa_backward_dq<<<dim3(tiles, (unsigned)(B * NH)), kRows * 32>>>(dq, dout, q, k, v, lse, (const float*)D, T, NH, NKV, hs, scale);
    HYPER_TRY(hyper::launched("grouped-query attention backward dq"));
    gqa_backward_dkdv<<<dim3(tiles, (unsigned)(B * NKV)), kRows * 32>>>(dk, dv, dout, q, k, v, lse, (const float*)D, T, NH, NKV, hs, scale);
    return hyper::launched("grouped-query attention backward dk dv");
}

int hyper_cuda_grouped_query_attention_kv_forward(float* out, float* k_cache, float* v_cache, const float* q, const float* k, const float* v,
                                                  int B, int Tq, int pos, int maxT, int NH, int NKV, int hs) {
    HYPER_TRY(check_gqa("grouped-query attention kv", B, Tq, NH, NKV, hs));
    if (pos < 0 || maxT < 0 || (long long)pos + Tq > maxT)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "grouped-query attention kv: tokens %d..%d do not fit a cache of %d positions", pos,
                           pos + Tq - 1, maxT);
    if (B == 0 || Tq == 0) return 0;
    long long kvw = (long long)NKV * hs, n = (long long)B * Tq * kvw;
    gqa_kv_append<<<hyper::grid_for(n, 256), 256>>>(k_cache, v_cache, k, v, Tq, pos, maxT, kvw, n);
    HYPER_TRY(hyper::launched("grouped-query attention kv append"));
    float scale = 1.0f / sqrtf((float)hs);
    long long C = (long long)NH * hs, cache_batch = (long long)maxT * kvw;
    hyper::AttentionProblem p{out, nullptr, q, k_cache, v_cache, C, kvw, kvw, C, Tq * C, cache_batch, cache_batch, Tq * C,
                              Tq, pos + Tq, NH, NH / NKV, hs, 1, pos, scale};
    return hyper::launch_attention_flash(p, B);
}

}  // extern "C"
