// Softmax over the vocabulary fused with cross-entropy (Hyper.Kernels.Reference.SoftmaxCrossEntropy):
// logits/probs/dlogits[N,Vp], rows of Vp >= V floats whose first V are the vocabulary and the rest
// padding (written as zeros), targets[N] (negative: ignored row), losses[N]. probs may be the logits
// view and dlogits the probs view: every element is read and then written by the same work-item.

// One work-group of WG work-items per row.
__kernel void softmax_cross_entropy_forward(__global float* losses, ulong losses_off, __global float* probs, ulong probs_off,
    __global const float* logits, ulong logits_off, __global const int* targets, ulong targets_off, int V, int Vp)
{
    __local float scratch[WG];
    int n = get_group_id(0), lid = get_local_id(0);
    logits += logits_off + (long)n * Vp; probs += probs_off + (long)n * Vp;
    int target = targets[targets_off + n];
    // Read before any work-item overwrites the row (probs may be logits); the reductions'
    // barriers come before the first write.
    float targetLogit = target >= 0 ? logits[target] : 0;
    float mx = -INFINITY;
    for (int i = lid; i < V; i += WG) mx = fmax(mx, logits[i]);
    mx = wg_max(scratch, mx);
    float s = 0;
    for (int i = lid; i < V; i += WG) s += exp(logits[i] - mx);
    s = wg_sum(scratch, s);
    for (int i = lid; i < V; i += WG) probs[i] = exp(logits[i] - mx) / s;
    for (int i = V + lid; i < Vp; i += WG) probs[i] = 0;
    // log-sum-exp minus the target logit stays accurate where the target's probability underflows.
    if (lid == 0) losses[losses_off + n] = target >= 0 ? mx + log(s) - targetLogit : 0;
}

// dlogits[n,i] = (probs[n,i] − [i = target])·dloss for i < V, 0 for padding and an ignored row;
// overwrites. One work-item per (i, n) over the Vp columns.
__kernel void softmax_cross_entropy_backward(__global float* dlogits, ulong dlogits_off, __global const float* probs, ulong probs_off,
    __global const int* targets, ulong targets_off, float dloss, int V, int Vp)
{
    int i = get_global_id(0), n = get_global_id(1);
    long at = (long)n * Vp + i;
    int target = targets[targets_off + n];
    float onehot = i == target ? 1.0f : 0.0f;
    dlogits[dlogits_off + at] = target >= 0 && i < V ? (probs[probs_off + at] - onehot) * dloss : 0;
}
