// Softmax over the vocabulary fused with the cross-entropy loss. logits/probs/dlogits[N,Vp], rows
// of Vp >= V floats whose first V are the vocabulary and the rest the arena's padding (written as
// zeros, never read); one block per row (V is ~50k for GPT-2, too long for a warp). probs may be the logits memory and
// dlogits the probs memory: each element is read and written by the same thread, and the
// target's logit is read before any barrier, so before anything is overwritten.
#include "common.cuh"

namespace {

constexpr int kThreads = 512;

__global__ void softmax_cross_entropy_forward(float* losses, float* probs, const float* logits, const int* targets, int V, int Vp) {
    __shared__ float shared[32];
    long long row = blockIdx.x;
    const float* x = logits + row * Vp;
    float* p = probs + row * Vp;
    int target = targets[row];
    float target_logit = (threadIdx.x == 0 && target >= 0) ? x[target] : 0.0f;
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, x[i]);
    mx = hyper::block_max(mx, shared);
    float sum = 0.0f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) sum += expf(x[i] - mx);
    sum = hyper::block_sum(sum, shared);
    for (int i = threadIdx.x; i < V; i += blockDim.x) p[i] = expf(x[i] - mx) / sum;
    for (int i = V + threadIdx.x; i < Vp; i += blockDim.x) p[i] = 0.0f;
    // logsumexp - logit stays accurate where the target's probability underflows.
    if (threadIdx.x == 0) losses[row] = target >= 0 ? mx + logf(sum) - target_logit : 0.0f;
}

__global__ void softmax_cross_entropy_backward(float* dlogits, const float* probs, const int* targets, float dloss, int V, int Vp) {
    long long row = blockIdx.x;
    int target = targets[row];
    for (int i = threadIdx.x; i < Vp; i += blockDim.x) {
        long long e = row * Vp + i;
        dlogits[e] = target >= 0 && i < V ? (probs[e] - (i == target ? 1.0f : 0.0f)) * dloss : 0.0f;
    }
}

int upload_targets(const char* op, const int* targets, int N, int V, int Vp, const int** device) {
    if (N < 0 || V <= 0 || Vp < V) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: bad dimensions (N=%d, V=%d, Vp=%d)", op, N, V, Vp);
    for (int n = 0; n < N; n++)
        if (targets[n] >= V) return hyper::fail(HYPER_CUDA_BAD_ARGUMENT, "%s: target %d of row %d is not below V=%d", op, targets[n], n, V);
    return hyper::upload_ints(targets, N, device);
}

}  // namespace

extern "C" {

int hyper_cuda_softmax_cross_entropy_forward(float* losses, float* probs, const float* logits, const int* targets, int N, int V, int Vp) {
    const int* d_targets = nullptr;
    HYPER_TRY(upload_targets("softmax cross-entropy", targets, N, V, Vp, &d_targets));
    if (N == 0) return 0;
    softmax_cross_entropy_forward<<<(unsigned)N, kThreads>>>(losses, probs, logits, d_targets, V, Vp);
    return hyper::launched("softmax cross-entropy forward");
}

int hyper_cuda_softmax_cross_entropy_backward(float* dlogits, const float* probs, const int* targets, float dloss, int N, int V, int Vp) {
    const int* d_targets = nullptr;
    HYPER_TRY(upload_targets("softmax cross-entropy backward", targets, N, V, Vp, &d_targets));
    if (N == 0) return 0;
    softmax_cross_entropy_backward<<<(unsigned)N, kThreads>>>(dlogits, probs, d_targets, dloss, V, Vp);
    return hyper::launched("softmax cross-entropy backward");
}

}  // extern "C"
