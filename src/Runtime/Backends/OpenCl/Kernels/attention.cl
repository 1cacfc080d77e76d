// Exact multi-head attention, flash-style (Hyper.Kernels.Reference.Attention): no T×T matrix.
// qkv[B,T,3C] holds q, k, v per token; head h uses channels [h·hs, (h+1)·hs), hs = C/NH ≤ MAX_HS.
// One work-item per query (or key) row; the other side's rows stream through local memory in
// tiles that the whole work-group loads together.

#define MAX_HS 128
#define ATT_BQ 32 // query rows per work-group
#define ATT_BK 16 // key rows per local-memory tile

// Online softmax over keys, for the training forward and the KV-cache forward alike:
// out[b,i,h] = Σ_j softmax_j(q_i·k_j·scale) v_j, lse[b,h,i] = log Σ_j exp(q_i·k_j·scale).
// Rows are q + b·q_batch + i·q_stride (k, v likewise with kv_batch, kv_stride), out rows are
// b·Tq·C + i·C. Query i sees keys 0..i+causal_shift (all Tk keys when causal_shift < 0). Query head
// h reads key/value head h / kv_group (1 for multi-head attention; NH/NKV for grouped-query).
// Global size (ceil(Tq/ATT_BQ)·ATT_BQ, B·NH).
__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void attention_forward(__global float* out, ulong out_off, __global float* lse, ulong lse_off, int has_lse,
    __global const float* q, ulong q_off, __global const float* k, ulong k_off, __global const float* v, ulong v_off,
    int Tq, int Tk, int q_stride, int q_batch, int kv_stride, int kv_batch, int C, int NH, int kv_group, int causal_shift, float scale)
{
    __local float ks[ATT_BK * MAX_HS], vs[ATT_BK * MAX_HS];
    int lid = get_local_id(0), first = get_group_id(0) * ATT_BQ, i = first + lid;
    int bh = get_group_id(1), b = bh / NH, h = bh % NH, hs = C / NH;
    q += q_off + b * q_batch + h * hs;
    k += k_off + b * kv_batch + h / kv_group * hs;
    v += v_off + b * kv_batch + h / kv_group * hs;
    bool active = i < Tq;
    int last = min(first + ATT_BQ, Tq) - 1;
    int keys = causal_shift < 0 ? Tk : min(Tk, last + causal_shift + 1);             // the group's keys
    int visible = !active ? 0 : causal_shift < 0 ? Tk : min(Tk, i + causal_shift + 1); // this row's

    float qi[MAX_HS], oi[MAX_HS];
    for (int d = 0; d < hs; d++) { qi[d] = active ? q[i * q_stride + d] : 0; oi[d] = 0; }
    float m = -INFINITY, l = 0; // running max and Σ exp(s − m)
    for (int j0 = 0; j0 < keys; j0 += ATT_BK)
    {
        int rows = min(ATT_BK, keys - j0);
        for (int e = lid; e < rows * hs; e += ATT_BQ)
        {
            int r = e / hs, d = e % hs;
            ks[r * hs + d] = k[(j0 + r) * kv_stride + d];
            vs[r * hs + d] = v[(j0 + r) * kv_stride + d];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int n = min(rows, visible - j0);
        if (n > 0)
        {
            float s[ATT_BK], tileMax = m;
            for (int r = 0; r < n; r++)
            {
                float dot = 0;
                for (int d = 0; d < hs; d++) dot += qi[d] * ks[r * hs + d];
                s[r] = dot * scale;
                tileMax = fmax(tileMax, s[r]);
            }
            // Rescale what was summed under the old max once per tile (exp(−inf) = 0 at the first).
            float correction = exp(m - tileMax);
            l *= correction;
            for (int d = 0; d < hs; d++) oi[d] *= correction;
            for (int r = 0; r < n; r++)
            {
                float p = exp(s[r] - tileMax);
                l += p;
                for (int d = 0; d < hs; d++) oi[d] += p * vs[r * hs + d];
            }
            m = tileMax;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!active) return;
    out += out_off + (b * Tq + i) * C + h * hs;
    for (int d = 0; d < hs; d++) out[d] = oi[d] / l;
    if (has_lse) lse[lse_off + bh * Tq + i] = m + log(l);
}

// The KV-cache forward's first half: kCache/vCache[b, pos+t, :] = k, v of new token (b, t) of
// qkv[B,Tq,3C]; one work-item per (c, b·Tq + t).
__kernel void attention_kv_append(__global float* kc, ulong kc_off, __global float* vc, ulong vc_off,
    __global const float* qkv, ulong qkv_off, int Tq, int pos, int maxT, int C)
{
    int c = get_global_id(0), bt = get_global_id(1), b = bt / Tq, t = bt % Tq;
    qkv += qkv_off + bt * 3 * C;
    int slot = (b * maxT + pos + t) * C + c;
    kc[kc_off + slot] = qkv[C + c];
    vc[vc_off + slot] = qkv[2 * C + c];
}

// D[b,h,i] = dout_i·out_i (per head), the softmax Jacobian's correction term of the backward.
__kernel void attention_backward_d(__global float* D, ulong D_off, __global const float* dout, ulong dout_off,
    __global const float* out, ulong out_off, int T, int C, int NH)
{
    int i = get_global_id(0), bh = get_global_id(1), b = bh / NH, h = bh % NH, hs = C / NH;
    dout += dout_off + (b * T + i) * C + h * hs;
    out += out_off + (b * T + i) * C + h * hs;
    float sum = 0;
    for (int d = 0; d < hs; d++) sum += dout[d] * out[d];
    D[D_off + bh * T + i] = sum;
}

// dq_i += Σ_j ds_ij·k_j·scale with p_ij = exp(s_ij − lse_i), ds_ij = p_ij·(dout_i·v_j − D_i):
// one work-item per query, keys and values streamed through local memory.
__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void attention_backward_dq(__global float* dqkv, ulong dqkv_off, __global const float* dout, ulong dout_off,
    __global const float* qkv, ulong qkv_off, __global const float* lse, ulong lse_off, __global const float* D, ulong D_off,
    int T, int C, int NH, int causal, float scale)
{
    __local float ks[ATT_BK * MAX_HS], vs[ATT_BK * MAX_HS];
    int lid = get_local_id(0), first = get_group_id(0) * ATT_BQ, i = first + lid;
    int bh = get_group_id(1), b = bh / NH, h = bh % NH, hs = C / NH;
    qkv += qkv_off + b * T * 3 * C + h * hs;
    dqkv += dqkv_off + b * T * 3 * C + h * hs;
    dout += dout_off + b * T * C + h * hs;
    bool active = i < T;
    int keys = causal ? min(T, first + ATT_BQ) : T;
    int visible = !active ? 0 : causal ? i + 1 : T;
    float qi[MAX_HS], gi[MAX_HS], dq[MAX_HS];
    for (int d = 0; d < hs; d++)
    {
        qi[d] = active ? qkv[i * 3 * C + d] : 0;
        gi[d] = active ? dout[i * C + d] : 0;
        dq[d] = 0;
    }
    float rowLse = active ? lse[lse_off + bh * T + i] : 0, Di = active ? D[D_off + bh * T + i] : 0;
    for (int j0 = 0; j0 < keys; j0 += ATT_BK)
    {
        int rows = min(ATT_BK, keys - j0);
        for (int e = lid; e < rows * hs; e += ATT_BQ)
        {
            int r = e / hs, d = e % hs;
            ks[r * hs + d] = qkv[(j0 + r) * 3 * C + C + d];
            vs[r * hs + d] = qkv[(j0 + r) * 3 * C + 2 * C + d];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int n = min(rows, visible - j0);
        for (int r = 0; r < n; r++)
        {
            float s = 0, dp = 0;
            for (int d = 0; d < hs; d++) { s += qi[d] * ks[r * hs + d]; dp += gi[d] * vs[r * hs + d]; }
            float ds = exp(s * scale - rowLse) * (dp - Di) * scale;
            for (int d = 0; d < hs; d++) dq[d] += ds * ks[r * hs + d];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!active) return;
    for (int d = 0; d < hs; d++) dqkv[i * 3 * C + d] += dq[d];
}

// dk_j += Σ_i ds_ij·q_i·scale and dv_j += Σ_i p_ij·dout_i: one work-item per key, queries
// (with their dout, lse and D) streamed through local memory; each key row has one writer.
__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))
void attention_backward_dkv(__global float* dqkv, ulong dqkv_off, __global const float* dout, ulong dout_off,
    __global const float* qkv, ulong qkv_off, __global const float* lse, ulong lse_off, __global const float* D, ulong D_off,
    int T, int C, int NH, int causal, float scale)
{
    __local float qs[ATT_BK * MAX_HS], gs[ATT_BK * MAX_HS], lses[ATT_BK], Ds[ATT_BK];
    int lid = get_local_id(0), first = get_group_id(0) * ATT_BQ, j = first + lid;
    int bh = get_group_id(1), b = bh / NH, h = bh % NH, hs = C / NH;
    qkv += qkv_off + b * T * 3 * C + h * hs;
    dqkv += dqkv_off + b * T * 3 * C + h * hs;
    dout += dout_off + b * T * C + h * hs;
    lse += lse_off + bh * T;
    D += D_off + bh * T;
    bool active = j < T;
    float kj[MAX_HS], vj[MAX_HS], dk[MAX_HS], dv[MAX_HS];
    for (int d = 0; d < hs; d++)
    {
        kj[d] = active ? qkv[j * 3 * C + C + d] : 0;
        vj[d] = active ? qkv[j * 3 * C + 2 * C + d] : 0;
        dk[d] = 0;
        dv[d] = 0;
    }
    // Causal: only queries i ≥ j see key j, so the group starts at its first key.
    for (int i0 = causal ? first : 0; i0 < T; i0 += ATT_BK)
    {
        int rows = min(ATT_BK, T - i0);
        for (int e = lid; e < rows * hs; e += ATT_BQ)
        {
            int r = e / hs, d = e % hs;
            qs[r * hs + d] = qkv[(i0 + r) * 3 * C + d];
            gs[r * hs + d] = dout[(i0 + r) * C + d];
        }
        if (lid < rows) { lses[lid] = lse[i0 + lid]; Ds[lid] = D[i0 + lid]; }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int r = 0; active && r < rows; r++)
        {
            if (causal && i0 + r < j) continue;
            float s = 0, dp = 0;
            for (int d = 0; d < hs; d++) { s += qs[r * hs + d] * kj[d]; dp += gs[r * hs + d] * vj[d]; }
            float p = exp(s * scale - lses[r]);
            float ds = p * (dp - Ds[r]) * scale;
            for (int d = 0; d < hs; d++) { dv[d] += p * gs[r * hs + d]; dk[d] += ds * qs[r * hs + d]; }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (!active) return;
    for (int d = 0; d < hs; d++)
    {
        dqkv[j * 3 * C + C + d] += dk[d];
        dqkv[j * 3 * C + 2 * C + d] += dv[d];
    }
}
