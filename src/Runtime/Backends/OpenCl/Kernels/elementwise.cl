// Elementwise ops (GELU, residual, AdamW) and the sum of squares: one work-item per element.

// GELU, tanh form, with Hyper.Kernels.Reference.Gelu's constants: √(2/π) and 0.044715.
#define GELU_K 0.7978845608028654f
#define GELU_A 0.044715f

__kernel void gelu_forward(__global float* out, ulong out_off, __global const float* inp, ulong inp_off)
{
    int i = get_global_id(0);
    float x = inp[inp_off + i];
    out[out_off + i] = 0.5f * x * (1.0f + tanh(GELU_K * (x + GELU_A * x * x * x)));
}

// dinp += gelu'(x)·dout, gelu'(x) = ½(1 + tanh u) + ½x·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715·x²).
__kernel void gelu_backward(__global float* dinp, ulong dinp_off, __global const float* inp, ulong inp_off,
    __global const float* dout, ulong dout_off)
{
    int i = get_global_id(0);
    float x = inp[inp_off + i];
    float th = tanh(GELU_K * (x + GELU_A * x * x * x));
    float du = GELU_K * (1.0f + 3.0f * GELU_A * x * x);
    float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
    dinp[dinp_off + i] += grad * dout[dout_off + i];
}

__kernel void residual_forward(__global float* out, ulong out_off, __global const float* a, ulong a_off,
    __global const float* b, ulong b_off)
{
    int i = get_global_id(0);
    out[out_off + i] = a[a_off + i] + b[b_off + i];
}

__kernel void residual_backward(__global float* da, ulong da_off, __global float* db, ulong db_off,
    __global const float* dout, ulong dout_off)
{
    int i = get_global_id(0);
    float g = dout[dout_off + i];
    da[da_off + i] += g;
    db[db_off + i] += g;
}

// AdamW as torch.optim.AdamW, the formula of Hyper.Kernels.Reference.AdamW; the bias
// corrections 1 − βˢᵗᵉᵖ come from the host, computed in double as the reference does.
__kernel void adamw_update(__global float* params, ulong params_off, __global float* m, ulong m_off,
    __global float* v, ulong v_off, __global const float* grads, ulong grads_off,
    float lr, float beta1, float beta2, float eps, float weightDecay, float correction1, float correction2, float gradScale)
{
    int i = get_global_id(0);
    params += params_off; m += m_off; v += v_off; grads += grads_off;
    float g = grads[i] * gradScale;
    float p = params[i];
    p -= lr * weightDecay * p;
    float mi = beta1 * m[i] + (1.0f - beta1) * g;
    float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    float mhat = mi / correction1;
    float vhat = vi / correction2;
    params[i] = p - lr * mhat / (sqrt(vhat) + eps);
}

// partial[group] = Σ x² over the elements i ≡ global id (mod global size), reduced over the
// work-group; the host adds the partials in double.
__kernel void sum_of_squares(__global float* partial, ulong partial_off, __global const float* x, ulong x_off, int n)
{
    __local float scratch[WG];
    x += x_off;
    float s = 0;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) s += x[i] * x[i];
    s = wg_sum(scratch, s);
    if (get_local_id(0) == 0) partial[partial_off + get_group_id(0)] = s;
}
