// The Llama-family ops (Hyper.Kernels.Reference.RmsNorm, Rope, SwiGlu, GroupedQueryAttention).
// The attention kernels use MAX_HS, ATT_BQ and ATT_BK from attention.cl, which the host builds
// into the same program ahead of this file (files go in name order after common.cl).

// RMSNorm: inp/out[N,C], weight[C], rstd[N] = 1/√(mean(x²) + eps); one work-group of WG per row.
// out may be inp: every element is read by the work-item that writes it, after the row's sum.
__kernel void rmsnorm_forward(__global float* out, ulong out_off, __global float* rstd, ulong rstd_off,
    __global const float* inp, ulong inp_off, __global const float* weight, ulong weight_off, int C, float eps)
{
    __local float scratch[WG];
    int n = get_group_id(0), lid = get_local_id(0);
    out += out_off + n * C; inp += inp_off + n * C; weight += weight_off;
    float q = 0;
    for (int i = lid; i < C; i += WG) q += inp[i] * inp[i];
    float s = 1.0f / sqrt(wg_sum(scratch, q) / C + eps);
    for (int i = lid; i < C; i += WG) out[i] = inp[i] * s * weight[i];
    if (lid == 0) rstd[rstd_off + n] = s;
}

// dinp[n,:] += rstd·(g − x̂·mean(g·x̂)) with g = weight·dout, x̂ = x·rstd; one work-group per row.
__kernel void rmsnorm_backward_input(__global float* dinp, ulong dinp_off, __global const float* dout, ulong dout_off,
    __global const float* inp, ulong inp_off, __global const float* weight, ulong weight_off,
    __global const float* rstd, ulong rstd_off, int C)
{
    __local float scratch[WG];
    int n = get_group_id(0), lid = get_local_id(0);
    dinp += dinp_off + n * C; dout += dout_off + n * C; inp += inp_off + n * C; weight += weight_off;
    float s = rstd[rstd_off + n];
    float gx = 0;
    for (int i = lid; i < C; i += WG) gx += weight[i] * dout[i] * inp[i] * s;
    float gxMean = wg_sum(scratch, gx) / C;
    for (int i = lid; i < C; i += WG) dinp[i] += (weight[i] * dout[i] - inp[i] * s * gxMean) * s;
}

// dweight[c] += Σ_n dout·x̂ in n order; one work-item per channel (one writer, no atomics).
__kernel void rmsnorm_backward_weight(__global float* dweight, ulong dweight_off, __global const float* dout, ulong dout_off,
    __global const float* inp, ulong inp_off, __global const float* rstd, ulong rstd_off, int N, int C)
{
    int c = get_global_id(0);
    dout += dout_off; inp += inp_off; rstd += rstd_off;
    float dw = dweight[dweight_off + c];
    for (int n = 0; n < N; n++) dw += dout[n * C + c] * (inp[n * C + c] * rstd[n]);
    dweight[dweight_off + c] = dw;
}

// Rotary embedding, rotate-half: x/out[B,T,H,hs], cos/sin[P, hs/2], token t at position pos0 + t.
// One work-item per (i < hs/2, head row r = (b·T + t)·H + h); it reads its pair before writing it,
// so out may be inp. Global size (hs/2, B·T·H).
__kernel void rope_forward(__global float* out, ulong out_off, __global const float* inp, ulong inp_off,
    __global const float* cosT, ulong cos_off, __global const float* sinT, ulong sin_off, int T, int H, int hs, int pos0)
{
    int i = get_global_id(0), r = get_global_id(1), hh = hs / 2;
    int p = (pos0 + (r / H) % T) * hh + i;
    float c = cosT[cos_off + p], s = sinT[sin_off + p];
    int at = r * hs + i;
    float x1 = inp[inp_off + at], x2 = inp[inp_off + at + hh];
    out[out_off + at] = x1 * c - x2 * s;
    out[out_off + at + hh] = x2 * c + x1 * s;
}

// dinp += the rotation by −θ of dout; layout and launch as rope_forward.
__kernel void rope_backward(__global float* dinp, ulong dinp_off, __global const float* dout, ulong dout_off,
    __global const float* cosT, ulong cos_off, __global const float* sinT, ulong sin_off, int T, int H, int hs, int pos0)
{
    int i = get_global_id(0), r = get_global_id(1), hh = hs / 2;
    int p = (pos0 + (r / H) % T) * hh + i;
    float c = cosT[cos_off + p], s = sinT[sin_off + p];
    int at = r * hs + i;
    float g1 = dout[dout_off + at], g2 = dout[dout_off + at + hh];
    dinp[dinp_off + at] += g1 * c + g2 * s;
    dinp[dinp_off + at + hh] += g2 * c - g1 * s;
}

// SwiGLU: out = silu(gate)·up; one work-item per element (out may be gate or up).
__kernel void swiglu_forward(__global float* out, ulong out_off, __global const float* gate, ulong gate_off,
    __global const float* up, ulong up_off)
{
    int i = get_global_id(0);
    float g = gate[gate_off + i];
    out[out_off + i] = g / (1.0f + exp(-g)) * up[up_off + i];
}

// dgate += dout·up·σ·(1 + g·(1 − σ)), dup += dout·g·σ.
__kernel void swiglu_backward(__global float* dgate, ulong dgate_off, __global float* dup, ulong dup_off,
    __global const float* dout, ulong dout_off, __global const float* gate, ulong gate_off, __global const float* up, ulong up_off)
{
    int i = get_global_id(0);
    float g = gate[gate_off + i], d = dout[dout_off + i];
    float s = 1.0f / (1.0f + exp(-g));
    dgate[dgate_off + i] += d * up[up_off + i] * s * (1.0f + g * (1.0f - s));
    dup[dup_off + i] += d * g * s;
}

// Grouped-query attention backward, dq part: q/dq/dout[B,T,NH,hs], k/v[B,T,NKV,hs], lse and D
// [B,NH,T] (D from attention_backward_d, whose layout is the same). One work-item per query row of
// head h; the rows of its key/value head h/G stream through local memory. Global (⌈T/ATT_BQ⌉·ATT_BQ, B·NH).
__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void gqa_backward_dq(__global float* dq, ulong dq_off, __global const float* dout, ulong dout_off,
    __global const float* q, ulong q_off, __global const float* k, ulong k_off, __global const float* v, ulong v_off,
    __global const float* lse, ulong lse_off, __global const float* D, ulong D_off, int T, int NH, int NKV, int hs, float scale)
{
    __local float ks[ATT_BK * MAX_HS], vs[ATT_BK * MAX_HS];
    int lid = get_local_id(0), first = get_group_id(0) * ATT_BQ, i = first + lid;
    int bh = get_group_id(1), b = bh / NH, h = bh % NH, C = NH * hs, kvw = NKV * hs;
    q += q_off + b * T * C + h * hs;
    dq += dq_off + b * T * C + h * hs;
    dout += dout_off + b * T * C + h * hs;
    k += k_off + b * T * kvw + h / (NH / NKV) * hs;
    v += v_off + b * T * kvw + h / (NH / NKV) * hs;
    bool active = i < T;
    int keys = min(T, first + ATT_BQ), visible = active ? i + 1 : 0;
    float qi[MAX_HS], gi[MAX_HS], dqi[MAX_HS];
    for (int d = 0; d < hs; d++)
    {
        qi[d] = active ? q[i * C + d] : 0;
        gi[d] = active ? dout[i * C + d] : 0;
        dqi[d] = 0;
    }
    float rowLse = active ? lse[lse_off + bh * T + i] : 0, Di = active ? D[D_off + bh * T + i] : 0;
    for (int j0 = 0; j0 < keys; j0 += ATT_BK)
    {
        int rows = min(ATT_BK, keys - j0);
        for (int e = lid; e < rows * hs; e += ATT_BQ)
        {
            int r = e / hs, d = e % hs;
            ks[r * hs + d] = k[(j0 + r) * kvw + d];
            vs[r * hs + d] = v[(j0 + r) * kvw + d];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int n = min(rows, visible - j0);
        for (int r = 0; r < n; r++)
        {
            float s = 0, dp = 0;
            for (int d = 0; d < hs; d++) { s += qi[d] * ks[r * hs + d]; dp += gi[d] * vs[r * hs + d]; }
            float ds = exp(s * scale - rowLse) * (dp - Di) * scale;
            for (int d = 0; d < hs; d++) dqi[d] += ds * ks[r * hs + d];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!active) return;
    for (int d = 0; d < hs; d++) dq[i * C + d] += dqi[d];
}

// The dk, dv part: one work-item per key row j of key/value head g, which sums over the NH/NKV query
// heads of its group (in head order) and the queries i ≥ j of each, streamed through local memory;
// each key row has one writer. Global (⌈T/ATT_BQ⌉·ATT_BQ, B·NKV).
__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void gqa_backward_dkv(__global float* dk, ulong dk_off, __global float* dv, ulong dv_off, __global const float* dout, ulong dout_off,
    __global const float* q, ulong q_off, __global const float* k, ulong k_off, __global const float* v, ulong v_off,
    __global const float* lse, ulong lse_off, __global const float* D, ulong D_off, int T, int NH, int NKV, int hs, float scale)
{
    __local float qs[ATT_BK * MAX_HS], gs[ATT_BK * MAX_HS], lses[ATT_BK], Ds[ATT_BK];
    int lid = get_local_id(0), first = get_group_id(0) * ATT_BQ, j = first + lid;
    int bg = get_group_id(1), b = bg / NKV, g = bg % NKV, G = NH / NKV, C = NH * hs, kvw = NKV * hs;
    int kv = b * T * kvw + g * hs;
    bool active = j < T;
    float kj[MAX_HS], vj[MAX_HS], dkj[MAX_HS], dvj[MAX_HS];
    for (int d = 0; d < hs; d++)
    {
        kj[d] = active ? k[k_off + kv + j * kvw + d] : 0;
        vj[d] = active ? v[v_off + kv + j * kvw + d] : 0;
        dkj[d] = 0;
        dvj[d] = 0;
    }
    for (int h = g * G; h < (g + 1) * G; h++)
    {
        __global const float* qh = q + q_off + b * T * C + h * hs;
        __global const float* gh = dout + dout_off + b * T * C + h * hs;
        int bh = b * NH + h;
        // Causal: only queries i ≥ j see key j, so the group starts at its first key.
        for (int i0 = first; i0 < T; i0 += ATT_BK)
        {
            int rows = min(ATT_BK, T - i0);
            for (int e = lid; e < rows * hs; e += ATT_BQ)
            {
                int r = e / hs, d = e % hs;
                qs[r * hs + d] = qh[(i0 + r) * C + d];
                gs[r * hs + d] = gh[(i0 + r) * C + d];
            }
            if (lid < rows) { lses[lid] = lse[lse_off + bh * T + i0 + lid]; Ds[lid] = D[D_off + bh * T + i0 + lid]; }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int r = 0; active && r < rows; r++)
            {
                if (i0 + r < j) continue;
                float s = 0, dp = 0;
                for (int d = 0; d < hs; d++) { s += qs[r * hs + d] * kj[d]; dp += gs[r * hs + d] * vj[d]; }
                float p = exp(s * scale - lses[r]);
                float ds = p * (dp - Ds[r]) * scale;
                for (int d = 0; d < hs; d++) { dvj[d] += p * gs[r * hs + d]; dkj[d] += ds * qs[r * hs + d]; }
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
    if (!active) return;
    for (int d = 0; d < hs; d++)
    {
        dk[dk_off + kv + j * kvw + d] += dkj[d];
        dv[dv_off + kv + j * kvw + d] += dvj[d];
    }
}
