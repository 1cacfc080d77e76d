// Matmul (Hyper.Kernels.Reference.Matmul) as one strided product that serves the forward and
// both halves of the backward:
//     out[i,j] (+)= Σ_k A[i·a_si + k·a_sk] · B[j·b_sj + k·b_sk]  (+ bias[j]),  out[M,N] row-major.
// Forward:  i = n, j = o, k = c: A = inp (C, 1),  B = weight (C, 1).
// dinp:     i = n, j = c, k = o: A = dout (OC, 1), B = weight (1, C), accumulating.
// dweight:  i = o, j = c, k = n: A = dout (1, OC), B = inp (1, C), accumulating.
// Three variants compute it (the host picks one through IKernelVariants): naive, tiled in local
// memory, and tiled with a 4×4 register block per work-item.

#define MATMUL_ARGS __global float* out, ulong out_off, \
    __global const float* a, ulong a_off, int a_si, int a_sk, \
    __global const float* b, ulong b_off, int b_sj, int b_sk, \
    __global const float* bias, ulong bias_off, int has_bias, int accumulate, int M, int N, int K

inline void matmul_store(__global float* out, __global const float* bias, int has_bias, int accumulate, int N, int i, int j, float sum)
{
    if (has_bias) sum += bias[j];
    if (accumulate) out[i * N + j] += sum;
    else out[i * N + j] = sum;
}

// One work-item per output: the readable version, and the fallback the others are checked against.
__kernel void matmul_naive(MATMUL_ARGS)
{
    int j = get_global_id(0), i = get_global_id(1);
    if (i >= M || j >= N) return;
    out += out_off; a += a_off; b += b_off; bias += bias_off;
    float sum = 0;
    for (int k = 0; k < K; k++) sum += a[i * a_si + k * a_sk] * b[j * b_sj + k * b_sk];
    matmul_store(out, bias, has_bias, accumulate, N, i, j, sum);
}

// TS×TS outputs per work-group; both operands pass through local memory TS values of k at a
// time, so each global value is read once per tile instead of once per output.
#define TS 16
__kernel __attribute__((reqd_work_group_size(TS, TS, 1))) void matmul_tiled(MATMUL_ARGS)
{
    __local float as[TS][TS + 1], bs[TS][TS + 1]; // +1: columns read down a row hit distinct banks
    int lj = get_local_id(0), li = get_local_id(1);
    int i0 = get_group_id(1) * TS, j0 = get_group_id(0) * TS;
    out += out_off; a += a_off; b += b_off; bias += bias_off;
    float sum = 0;
    for (int k0 = 0; k0 < K; k0 += TS)
    {
        int k = k0 + lj;
        as[li][lj] = i0 + li < M && k < K ? a[(i0 + li) * a_si + k * a_sk] : 0;
        bs[li][lj] = j0 + li < N && k < K ? b[(j0 + li) * b_sj + k * b_sk] : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TS; kk++) sum += as[li][kk] * bs[lj][kk];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (i0 + li < M && j0 + lj < N) matmul_store(out, bias, has_bias, accumulate, N, i0 + li, j0 + lj, sum);
}

// 64×64 outputs per 16×16 work-group: each work-item keeps a 4×4 block of sums in registers, so
// every value read from local memory feeds four multiply-adds instead of one. Work-item (li, lj)
// owns rows i0 + li + 16r and columns j0 + lj + 16c (r, c < 4), so neighbours read neighbouring
// local addresses.
#define RB 64
#define RK 16
__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void matmul_blocked(MATMUL_ARGS)
{
    __local float as[RK][RB], bs[RK][RB]; // [k][row]: the inner loop reads along rows
    int lj = get_local_id(0), li = get_local_id(1), tid = li * 16 + lj;
    int i0 = get_group_id(1) * RB, j0 = get_group_id(0) * RB;
    out += out_off; a += a_off; b += b_off; bias += bias_off;
    float acc[4][4] = { { 0 } };
    for (int k0 = 0; k0 < K; k0 += RK)
    {
        // 64 rows × 16 k of each operand: four values per work-item.
        for (int l = 0; l < 4; l++)
        {
            int e = tid + 256 * l, row = e / RK, kk = e % RK, k = k0 + kk;
            as[kk][row] = i0 + row < M && k < K ? a[(i0 + row) * a_si + k * a_sk] : 0;
            bs[kk][row] = j0 + row < N && k < K ? b[(j0 + row) * b_sj + k * b_sk] : 0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < RK; kk++)
        {
            float ar[4], br[4];
            for (int r = 0; r < 4; r++) { ar[r] = as[kk][li + 16 * r]; br[r] = bs[kk][lj + 16 * r]; }
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) acc[r][c] += ar[r] * br[c];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
        {
            int i = i0 + li + 16 * r, j = j0 + lj + 16 * c;
            if (i < M && j < N) matmul_store(out, bias, has_bias, accumulate, N, i, j, acc[r][c]);
        }
}

// dbias[o] += Σ_n dout[n,o]: the sum is formed first and added once, as the reference does.
__kernel void matmul_backward_bias(__global float* dbias, ulong dbias_off, __global const float* dout, ulong dout_off, int N, int OC)
{
    int o = get_global_id(0);
    dout += dout_off;
    float sum = 0;
    for (int n = 0; n < N; n++) sum += dout[n * OC + o];
    dbias[dbias_off + o] += sum;
}
