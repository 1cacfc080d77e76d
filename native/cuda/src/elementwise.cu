// The ops that touch each element once or a few times: encoder, GELU, residual, AdamW, and the
// sum of squares for gradient clipping. Grid-stride loops cover any length with a bounded grid.
#include <cmath>

#include "common.cuh"

namespace {

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

constexpr int kThreads = 256;

__global__ void encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B, int T, int C) {
    GRID_STRIDE(e, (long long)B * T * C) {
        long long bt = e / C;
        int c = (int)(e % C), t = (int)(bt % T);
        out[e] = wte[(long long)tokens[bt] * C + c] + wpe[(long long)t * C + c];
    }
}

// Several rows can carry the same token, so dwte needs atomics; dwpe has one writer per element.
__global__ void encoder_backward_wte(float* dwte, const float* dout, const int* tokens, int B, int T, int C) {
    GRID_STRIDE(e, (long long)B * T * C) {
        long long bt = e / C;
        atomicAdd(&dwte[(long long)tokens[bt] * C + e % C], dout[e]);
    }
}

__global__ void encoder_backward_wpe(float* dwpe, const float* dout, int B, int T, int C) {
    GRID_STRIDE(e, (long long)T * C) {
        float sum = 0.0f;
        for (int b = 0; b < B; b++) sum += dout[(long long)b * T * C + e];
        dwpe[e] += sum;
    }
}

__device__ __forceinline__ float gelu_u(float x) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    return k * (x + 0.044715f * x * x * x);
}

__global__ void gelu_forward(float* out, const float* inp, long long n) {
    GRID_STRIDE(i, n) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + tanhf(gelu_u(x)));
    }
}

__global__ void gelu_backward(float* dinp, const float* inp, const float* dout, long long n) {
    GRID_STRIDE(i, n) {
        float x = inp[i];
        float th = tanhf(gelu_u(x));
        float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
        float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
        dinp[i] += grad * dout[i];
    }
}

__global__ void residual_forward(float* out, const float* a, const float* b, long long n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

__global__ void residual_backward(float* da, float* db, const float* dout, long long n) {
    GRID_STRIDE(i, n) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

// correction1/2 = 1 - beta^step, computed on the host in double as PyTorch does.
__global__ void adamw(float* params, float* m, float* v, const float* grads, long long n, float lr, float beta1, float beta2, float eps,
                      float weight_decay, float correction1, float correction2, float grad_scale) {
    GRID_STRIDE(i, n) {
        float g = grads[i] * grad_scale;
        float p = params[i];
        p -= lr * weight_decay * p;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] = p - lr * (mi / correction1) / (sqrtf(vi / correction2) + eps);
    }
}

constexpr int kSumBlocks = 1024;

// One partial per block, in double; the host adds the partials in block order (deterministic).
__global__ void sum_of_squares(double* partials, const float* x, long long n) {
    __shared__ double shared[kThreads];
    double sum = 0.0;
    GRID_STRIDE(i, n) {
        double d = x[i];
        sum += d * d;
    }
    shared[threadIdx.x] = sum;
    __syncthreads();
    for (int half = kThreads / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) partials[blockIdx.x] = shared[0];
}

int check_tokens(const char* op, const int* tokens, long long n, int V) {
    for (long long i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: token %d at %lld is outside [0, %d)", op, tokens[i], i, V);
    return 0;
}

}  // namespace

extern "C" {

int hyper_cuda_sum_of_squares(double* result, const float* x, long long n) {
    *result = 0.0;
    if (n <= 0) return 0;
    void* partials = nullptr;
    HYPER_TRY(hyper::scratch(hyper::kScratchPartials, kSumBlocks * sizeof(double), &partials));
    unsigned blocks = hyper::blocks_for(n, kThreads);
    if (blocks > (unsigned)kSumBlocks) blocks = kSumBlocks;
    sum_of_squares<<<blocks, kThreads>>>((double*)partials, x, n);
    HYPER_TRY(hyper::launched("sum of squares"));
    double host[kSumBlocks];
    HYPER_TRY(hyper::check(cudaMemcpy(host, partials, blocks * sizeof(double), cudaMemcpyDeviceToHost), "sum of squares download"));
    for (unsigned b = 0; b < blocks; b++) *result += host[b];
    return 0;
}

int hyper_cuda_encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B, int T, int C, int V) {
    if (B < 0 || T < 0 || C <= 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "encoder: bad dimensions (B=%d, T=%d, C=%d)", B, T, C);
    long long bt = (long long)B * T;
    if (bt == 0) return 0;
    HYPER_TRY(check_tokens("encoder", tokens, bt, V));
    const int* d_tokens = nullptr;
    HYPER_TRY(hyper::upload_ints(tokens, bt, &d_tokens));
    encoder_forward<<<hyper::grid_for(bt * C, kThreads), kThreads>>>(out, d_tokens, wte, wpe, B, T, C);
    return hyper::launched("encoder forward");
}

int hyper_cuda_encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens, int B, int T, int C, int V) {
    if (B < 0 || T < 0 || C <= 0) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "encoder: bad dimensions (B=%d, T=%d, C=%d)", B, T, C);
    long long bt = (long long)B * T;
    if (bt == 0) return 0;
    HYPER_TRY(check_tokens("encoder backward", tokens, bt, V));
    const int* d_tokens = nullptr;
    HYPER_TRY(hyper::upload_ints(tokens, bt, &d_tokens));
    encoder_backward_wte<<<hyper::grid_for(bt * C, kThreads), kThreads>>>(dwte, dout, d_tokens, B, T, C);
    HYPER_TRY(hyper::launched("encoder backward wte"));
    encoder_backward_wpe<<<hyper::grid_for((long long)T * C, kThreads), kThreads>>>(dwpe, dout, B, T, C);
    return hyper::launched("encoder backward wpe");
}

int hyper_cuda_gelu_forward(float* out, const float* inp, long long N) {
    if (N <= 0) return 0;
    gelu_forward<<<hyper::grid_for(N, kThreads), kThreads>>>(out, inp, N);
    return hyper::launched("gelu forward");
}

int hyper_cuda_gelu_backward(float* dinp, const float* inp, const float* dout, long long N) {
    if (N <= 0) return 0;
    gelu_backward<<<hyper::grid_for(N, kThreads), kThreads>>>(dinp, inp, dout, N);
    return hyper::launched("gelu backward");
}

int hyper_cuda_residual_forward(float* out, const float* a, const float* b, long long N) {
    if (N <= 0) return 0;
    residual_forward<<<hyper::grid_for(N, kThreads), kThreads>>>(out, a, b, N);
    return hyper::launched("residual forward");
}

int hyper_cuda_residual_backward(float* da, float* db, const float* dout, long long N) {
    if (N <= 0) return 0;
    residual_backward<<<hyper::grid_for(N, kThreads), kThreads>>>(da, db, dout, N);
    return hyper::launched("residual backward");
}

int hyper_cuda_adamw_update(float* params, float* m, float* v, const float* grads, long long n, float lr, float beta1, float beta2,
                            float eps, float weight_decay, int step, float grad_scale) {
    if (step < 1) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "adamw: step %d (steps count from 1)", step);
    if (n <= 0) return 0;
    float correction1 = (float)(1.0 - pow((double)beta1, step));
    float correction2 = (float)(1.0 - pow((double)beta2, step));
    adamw<<<hyper::grid_for(n, kThreads), kThreads>>>(params, m, v, grads, n, lr, beta1, beta2, eps, weight_decay, correction1, correction2,
                                                      grad_scale);
    return hyper::launched("adamw");
}

}  // extern "C"
