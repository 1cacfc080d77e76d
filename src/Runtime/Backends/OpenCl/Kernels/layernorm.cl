// Layer normalisation over channels (Hyper.Kernels.Reference.LayerNorm): inp/out[N,C],
// weight/bias[C], mean/rstd[N]. Rows are reduced by one work-group of WG work-items each.

__kernel void layernorm_forward(__global float* out, ulong out_off, __global float* mean, ulong mean_off,
    __global float* rstd, ulong rstd_off, __global const float* inp, ulong inp_off,
    __global const float* weight, ulong weight_off, __global const float* bias, ulong bias_off, int C, float eps)
{
    __local float scratch[WG];
    int n = get_group_id(0), lid = get_local_id(0);
    out += out_off + n * C; inp += inp_off + n * C; weight += weight_off; bias += bias_off;
    float s = 0;
    for (int i = lid; i < C; i += WG) s += inp[i];
    float m = wg_sum(scratch, s) / C;
    // Two passes, as the reference: E[x²] − E[x]² cancels when |mean| ≫ std.
    float q = 0;
    for (int i = lid; i < C; i += WG) { float d = inp[i] - m; q += d * d; }
    float r = 1.0f / sqrt(wg_sum(scratch, q) / C + eps);
    for (int i = lid; i < C; i += WG) out[i] = (inp[i] - m) * r * weight[i] + bias[i];
    if (lid == 0) { mean[mean_off + n] = m; rstd[rstd_off + n] = r; }
}

// dinp[n,:] += rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = weight·dout, x̂ = (x − mean)·rstd; one
// work-group per row.
__kernel void layernorm_backward_input(__global float* dinp, ulong dinp_off, __global const float* dout, ulong dout_off,
    __global const float* inp, ulong inp_off, __global const float* weight, ulong weight_off,
    __global const float* mean, ulong mean_off, __global const float* rstd, ulong rstd_off, int C)
{
    __local float scratch[WG];
    int n = get_group_id(0), lid = get_local_id(0);
    dinp += dinp_off + n * C; dout += dout_off + n * C; inp += inp_off + n * C; weight += weight_off;
    float m = mean[mean_off + n], r = rstd[rstd_off + n];
    float gs = 0, gxs = 0;
    for (int i = lid; i < C; i += WG)
    {
        float g = weight[i] * dout[i];
        gs += g;
        gxs += g * (inp[i] - m) * r;
    }
    float gMean = wg_sum(scratch, gs) / C;
    float gxMean = wg_sum(scratch, gxs) / C;
    for (int i = lid; i < C; i += WG)
    {
        float xhat = (inp[i] - m) * r;
        dinp[i] += (weight[i] * dout[i] - gMean - xhat * gxMean) * r;
    }
}

// dweight[c] += Σ_n dout·x̂, dbias[c] += Σ_n dout, in n order; one work-item per channel (a
// column sum has one writer, so no atomics are needed).
__kernel void layernorm_backward_params(__global float* dweight, ulong dweight_off, __global float* dbias, ulong dbias_off,
    __global const float* dout, ulong dout_off, __global const float* inp, ulong inp_off,
    __global const float* mean, ulong mean_off, __global const float* rstd, ulong rstd_off, int N, int C)
{
    int c = get_global_id(0);
    dout += dout_off; inp += inp_off; mean += mean_off; rstd += rstd_off;
    float dw = dweight[dweight_off + c], db = dbias[dbias_off + c];
    for (int n = 0; n < N; n++)
    {
        float dy = dout[n * C + c];
        db += dy;
        dw += (inp[n * C + c] - mean[n]) * rstd[n] * dy;
    }
    dweight[dweight_off + c] = dw;
    dbias[dbias_off + c] = db;
}
