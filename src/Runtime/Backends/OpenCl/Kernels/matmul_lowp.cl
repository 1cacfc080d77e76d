// The forward matmul with low-precision weights: out[n,o] = bias[o] + Σ_c inp[n,c] · w[o,c],
// inputs, bias, outputs and sums fp32, one work-item per output (global o × n), the weight row
// widened as it is read. These are the same weights the fp32 kernels multiply on a fallback, so
// the two agree to fp32 rounding. Weight buffers are float buffers holding other types: their
// view offsets are in floats.
//
// bf16 (Hyper.Kernels.Reference.MatmulBf16): w[OC,C] as ushort, each the upper half of an fp32.
// q8 (Hyper.Kernels.Reference.MatmulQ8): per row, blocks of 32 along C, values q[OC, nb·32] as
// char (the last block zero-padded) and one fp32 scale d[OC, nb] each: w = d·q. The input stays
// fp32 (the cpu kernel's 7-bit rounding of it is an arithmetic choice of that kernel, not the format).

#define Q8_BLOCK 32

__kernel void matmul_bf16(__global float* out, ulong out_off, __global const float* inp, ulong inp_off,
    __global const float* wf, ulong w_off, __global const float* bias, ulong bias_off, int has_bias, int N, int C, int OC)
{
    int o = get_global_id(0), n = get_global_id(1);
    if (o >= OC || n >= N) return;
    __global const ushort* w = (__global const ushort*)(wf + w_off) + (long)o * C;
    __global const float* x = inp + inp_off + (long)n * C;
    float sum = 0;
    for (int c = 0; c < C; c++) sum += x[c] * as_float((uint)w[c] << 16);
    if (has_bias) sum += bias[bias_off + o];
    out[out_off + (long)n * OC + o] = sum;
}

__kernel void matmul_q8(__global float* out, ulong out_off, __global const float* inp, ulong inp_off,
    __global const float* qf, ulong q_off, __global const float* d, ulong d_off,
    __global const float* bias, ulong bias_off, int has_bias, int N, int C, int OC)
{
    int o = get_global_id(0), n = get_global_id(1);
    if (o >= OC || n >= N) return;
    int nb = (C + Q8_BLOCK - 1) / Q8_BLOCK;
    __global const char* q = (__global const char*)(qf + q_off) + (long)o * nb * Q8_BLOCK;
    __global const float* scale = d + d_off + (long)o * nb;
    __global const float* x = inp + inp_off + (long)n * C;
    float sum = 0;
    for (int c = 0; c < C; c++) sum += x[c] * (scale[c / Q8_BLOCK] * (float)q[c]);
    if (has_bias) sum += bias[bias_off + o];
    out[out_off + (long)n * OC + o] = sum;
}
