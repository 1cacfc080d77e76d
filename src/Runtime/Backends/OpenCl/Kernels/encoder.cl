// Token + position embedding (Hyper.Kernels.Reference.Encoder): out[B,T,C], wte[V,C], wpe[maxT,C].

// out[bt,c] = wte[tokens[bt],c] + wpe[bt % T,c]; one work-item per (c, bt). Token ids were
// checked against V on the host.
__kernel void encoder_forward(__global float* out, ulong out_off, __global const int* tokens, ulong tokens_off,
    __global const float* wte, ulong wte_off, __global const float* wpe, ulong wpe_off, int T, int C)
{
    int c = get_global_id(0), bt = get_global_id(1);
    out += out_off; tokens += tokens_off; wte += wte_off; wpe += wpe_off;
    out[bt * C + c] = wte[tokens[bt] * C + c] + wpe[(bt % T) * C + c];
}

// dwpe[t,c] += Σ_b dout[b,t,c], in b order as the reference; one work-item per (c, t).
__kernel void encoder_backward_wpe(__global float* dwpe, ulong dwpe_off, __global const float* dout, ulong dout_off,
    int B, int T, int C)
{
    int c = get_global_id(0), t = get_global_id(1);
    dwpe += dwpe_off; dout += dout_off;
    float acc = dwpe[t * C + c];
    for (int b = 0; b < B; b++) acc += dout[(b * T + t) * C + c];
    dwpe[t * C + c] = acc;
}

// dwte[token,c] += every dout row of that token. OpenCL 1.2 has no float atomics, so the host
// groups the rows by token: unique[u] is the u-th distinct token, its rows are
// rows[starts[u] .. starts[u+1]) in increasing order, which is the reference's order of
// addition. One work-item per (c, u): each dwte element has exactly one writer.
__kernel void encoder_backward_wte(__global float* dwte, ulong dwte_off, __global const float* dout, ulong dout_off,
    __global const int* unique, ulong unique_off, __global const int* starts, ulong starts_off,
    __global const int* rows, ulong rows_off, int C)
{
    int c = get_global_id(0), u = get_global_id(1);
    dwte += dwte_off; dout += dout_off; unique += unique_off; starts += starts_off; rows += rows_off;
    __global float* d = dwte + unique[u] * C + c;
    float acc = *d;
    for (int i = starts[u]; i < starts[u + 1]; i++) acc += dout[rows[i] * C + c];
    *d = acc;
}
