// Layer normalisation over channels, as PyTorch's nn.LayerNorm: biased variance, eps inside the
// square root. inp/out[N,C], weight/bias[C], mean/rstd[N] (kept for the backward).
// Forward and the input gradient use one warp per row; the weight and bias gradients sum over
// rows, so a thread per channel sums a chunk of rows and adds it with one atomic.
#include "common.cuh"

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kRowsPerChunk = 128;

__global__ void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                                  int N, int C, float eps) {
    int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* x = inp + (long long)row * C;
    float sum = 0.0f;
    for (int c = lane; c < C; c += 32) sum += x[c];
    float m = hyper::warp_sum(sum) / C;
    // Two passes (mean, then squared deviations): E[x^2] - E[x]^2 cancels badly when |mean| >> std.
    float sq = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float d = x[c] - m;
        sq += d * d;
    }
    float s = 1.0f / sqrtf(hyper::warp_sum(sq) / C + eps);
    float* y = out + (long long)row * C;
    for (int c = lane; c < C; c += 32) y[c] = (x[c] - m) * s * weight[c] + bias[c];
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

// dinp += rstd (g - mean(g) - xhat mean(g xhat)), g = weight * dout, per row.
__global__ void layernorm_backward_input(float* dinp, const float* dout, const float* inp, const float* weight, const float* mean,
                                         const float* rstd, int N, int C) {
    int row = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* x = inp + (long long)row * C;
    const float* dy = dout + (long long)row * C;
    float m = mean[row], s = rstd[row];
    float g_sum = 0.0f, gx_sum = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float g = weight[c] * dy[c];
        g_sum += g;
        gx_sum += g * (x[c] - m) * s;
    }
    float g_mean = hyper::warp_sum(g_sum) / C, gx_mean = hyper::warp_sum(gx_sum) / C;
    float* dx = dinp + (long long)row * C;
    for (int c = lane; c < C; c += 32) {
        float xhat = (x[c] - m) * s;
        dx[c] += (weight[c] * dy[c] - g_mean - xhat * gx_mean) * s;
    }
}

// dweight[c] += sum_n dout xhat; dbias[c] += sum_n dout.
__global__ void layernorm_backward_params(float* dweight, float* dbias, const float* dout, const float* inp, const float* mean,
                                          const float* rstd, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    int r0 = blockIdx.y * kRowsPerChunk, r1 = min(N, r0 + kRowsPerChunk);
    float dw = 0.0f, db = 0.0f;
    for (int r = r0; r < r1; r++) {
        float dy = dout[(long long)r * C + c];
        dw += dy * (inp[(long long)r * C + c] - mean[r]) * rstd[r];
        db += dy;
    }
    atomicAdd(&dweight[c], dw);
    atomicAdd(&dbias[c], db);
}

}  // namespace

extern "C" {

int hyper_cuda_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                                 int N, int C, float eps) {
    if (N < 0 || C <= 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "layernorm: bad dimensions (N=%d, C=%d)", N, C);
    if (N == 0) return 0;
    layernorm_forward<<<hyper::blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * 32>>>(out, mean, rstd, inp, weight, bias, N, C, eps);
    return hyper::launched("layernorm forward");
}

int hyper_cuda_layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                                  const float* mean, const float* rstd, int N, int C) {
    if (N < 0 || C <= 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "layernorm: bad dimensions (N=%d, C=%d)", N, C);
    if (N == 0) return 0;
    layernorm_backward_input<<<hyper::blocks_for(N, kWarpsPerBlock), kWarpsPerBlock * 32>>>(dinp, dout, inp, weight, mean, rstd, N, C);
    HYPER_TRY(hyper::launched("layernorm backward input"));
    dim3 grid(hyper::blocks_for(C, 128), hyper::blocks_for(N, kRowsPerChunk));
    layernorm_backward_params<<<grid, 128>>>(dweight, dbias, dout, inp, mean, rstd, N, C);
    return hyper::launched("layernorm backward params");
}

}  // extern "C"
