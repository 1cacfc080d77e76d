// The Llama-family ops (Hyper.Kernels.Reference.RmsNorm, Rope, SwiGlu): RMSNorm over channels
// (inp/out[N,C], weight[C], rstd[N] = 1/sqrt(mean(x^2) + eps) kept for the backward), rotary
// position embedding in the rotate-half form (x/out[B,T,H,hs], cos/sin[P, hs/2], token t at
// position pos0 + t) and SwiGLU (out = silu(gate) * up). RMSNorm's rows go one warp each, as
// layernorm.cu's; its weight gradient sums chunks of rows per channel and adds each with one
// atomic. RoPE and SwiGLU are grid-stride loops over pairs and elements.
#include <cmath>

#include "common.cuh"

namespace {

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = 8;
constexpr int kRowsPerChunk = 128;

// out may be inp: each lane reads the elements it writes, after the row's sum.
__global__ void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
    int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* x = inp + (long long)row * C;
    float sq = 0.0f;
    for (int c = lane; c < C; c += 32) sq += x[c] * x[c];
    float s = 1.0f / sqrtf(hyper::warp_sum(sq) / C + eps);
    float* y = out + (long long)row * C;
    for (int c = lane; c < C; c += 32) y[c] = x[c] * s * weight[c];
    if (lane == 0) rstd[row] = s;
}

// dinp += rstd (g - xhat mean(g xhat)), g = weight * dout, xhat = x * rstd, per row.
__global__ void rmsnorm_backward_input(float* dinp, const float* dout, const float* inp, const float* weight, const float* rstd,
                                       int N, int C) {
    int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* x = inp + (long long)row * C;
    const float* dy = dout + (long long)row * C;
    float s = rstd[row];
    float gx = 0.0f;
    for (int c = lane; c < C; c += 32) gx += weight[c] * dy[c] * x[c] * s;
    float gx_mean = hyper::warp_sum(gx) / C;
    float* dx = dinp + (long long)row * C;
    for (int c = lane; c < C; c += 32) dx[c] += (weight[c] * dy[c] - x[c] * s * gx_mean) * s;
}

// dweight[c] += sum_n dout xhat.
__global__ void rmsnorm_backward_weight(float* dweight, const float* dout, const float* inp, const float* rstd, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int r0 = blockIdx.y * kRowsPerChunk, r1 = min(N, r0 + kRowsPerChunk);
    float dw = 0.0f;
    for (int r = r0; r < r1; r++) dw += dout[(long long)r * C + c] * (inp[(long long)r * C + c] * rstd[r]);
    atomicAdd(&dweight[c], dw);
}

// One thread per (head row r = (b*T + t)*H + h, i < hs/2); the pair is read before it is written, so out may be inp.
__global__ void rope_forward(float* out, const float* inp, const float* cos_t, const float* sin_t, long long pairs, int T, int H, int hs,
                             int pos0) {
    int half = hs / 2;
    GRID_STRIDE(e, pairs) {
        long long r = e / half;
        int i = (int)(e % half);
        long long at = r * hs + i;
        long long p = (long long)(pos0 + (int)((r / H) % T)) * half + i;
        float c = cos_t[p], s = sin_t[p], x1 = inp[at], x2 = inp[at + half];
        out[at] = x1 * c - x2 * s;
        out[at + half] = x2 * c + x1 * s;
    }
}

// dinp += dout rotated by -theta.
__global__ void rope_backward(float* dinp, const float* dout, const float* cos_t, const float* sin_t, long long pairs, int T, int H, int hs,
                              int pos0) {
    int half = hs / 2;
    GRID_STRIDE(e, pairs) {
        long long r = e / half;
        int i = (int)(e % half);
        long long at = r * hs + i;
        long long p = (long long)(pos0 + (int)((r / H) % T)) * half + i;
        float c = cos_t[p], s = sin_t[p], g1 = dout[at], g2 = dout[at + half];
        dinp[at] += g1 * c + g2 * s;
        dinp[at + half] += g2 * c - g1 * s;
    }
}

__global__ void swiglu_forward(float* out, const float* gate, const float* up, long long n) {
    GRID_STRIDE(i, n) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

// dgate += dout up s (1 + g (1 - s)), dup += dout g s, with s = sigmoid(g).
__global__ void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, long long n) {
    GRID_STRIDE(i, n) {
        float g = gate[i], d = dout[i];
        float s = 1.0f / (1.0f + expf(-g));
        dgate[i] += d * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] += d * g * s;
    }
}

int check_rope(int B, int T, int H, int hs, int pos0) {
    if (B < 0 || T < 0 || H <= 0 || hs <= 0 || hs % 2 != 0 || pos0 < 0)
        return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "rope: bad dimensions (B=%d, T=%d, H=%d, hs=%d, pos0=%d)", B, T, H, hs, pos0);
    return 0;
}

}  // namespace

extern "C" {

int hyper_cuda_rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps) {
    if (N < 0 || C <= 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "rmsnorm: bad dimensions (N=%d, C=%d)", N, C);
    if (N == 0) return 0;
    rmsnorm_forward<<<hyper::blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * 32>>>(out, rstd, inp, weight, N, C, eps);
    return hyper::launched("rmsnorm forward");
}

int hyper_cuda_rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, const float* rstd,
                                int N, int C) {
    if (N < 0 || C <= 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "rmsnorm: bad dimensions (N=%d, C=%d)", N, C);
    if (N == 0) return 0;
    rmsnorm_backward_input<<<hyper::blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * 32>>>(dinp, dout, inp, weight, rstd, N, C);
    HYPER_TRY(hyper::launched("rmsnorm backward input"));
    dim3 grid(hyper::blocks_for(C, 128), hyper::blocks_for(N, kRowsPerChunk));
    rmsnorm_backward_weight<<<grid, 128>>>(dweight, dout, inp, rstd, N, C);
    return hyper::launched("rmsnorm backward weight");
}

int hyper_cuda_rope_forward(float* out, const float* inp, const float* cos_table, const float* sin_table, int B, int T, int H, int hs,
                            int pos0) {
    HYPER_TRY(check_rope(B, T, H, hs, pos0));
    long long pairs = (long long)B * T * H * (hs / 2);
    if (pairs == 0) return 0;
    rope_forward<<<hyper::grid_for(pairs, kThreads), kThreads>>>(out, inp, cos_table, sin_table, pairs, T, H, hs, pos0);
    return hyper::launched("rope forward");
}

int hyper_cuda_rope_backward(float* dinp, const float* dout, const float* cos_table, const float* sin_table, int B, int T, int H, int hs,
                             int pos0) {
    HYPER_TRY(check_rope(B, T, H, hs, pos0));
    long long pairs = (long long)B * T * H * (hs / 2);
    if (pairs == 0) return 0;
    rope_backward<<<hyper::grid_for(pairs, kThreads), kThreads>>>(dinp, dout, cos_table, sin_table, pairs, T, H, hs, pos0);
    return hyper::launched("rope backward");
}

int hyper_cuda_swiglu_forward(float* out, const float* gate, const float* up, long long N) {
    if (N <= 0) return 0;
    swiglu_forward<<<hyper::grid_for(N, kThreads), kThreads>>>(out, gate, up, N);
    return hyper::launched("swiglu forward");
}

int hyper_cuda_swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, long long N) {
    if (N <= 0) return 0;
    swiglu_backward<<<hyper::grid_for(N, kThreads), kThreads>>>(dgate, dup, dout, gate, up, N);
    return hyper::launched("swiglu backward");
}

}  // extern "C"
