using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The fully connected layer with blocked 8-bit weights, same contract and format as
/// <see cref="Reference.MatmulQ8"/>: a matrix-vector kernel that reads 1.125 bytes a weight.
/// <para>
/// Each block of 32 is dequantised in registers: sign-extend 16 int8 to int32 (vpmovsxbd from
/// memory) and convert to float, two FMAs with the input, then one FMA of the block's sum by its
/// scale into the running total (the scale multiplies a sum of 32 products, not each weight).
/// The alternative, quantising the input to int8 per block and using VNNI integer dot products,
/// is not built yet. The input row is copied, zero-padded to whole blocks, so the last block
/// needs no tail loop (its padded weights are zero).
/// </para>
/// </summary>
public static unsafe class MatmulQ8
{
    private const int Block = Reference.MatmulQ8.Block;

    /// <summary>out[N,OC] = inp[N,C] · dequant(values, scales)[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        if (!Avx2.IsSupported)
        {
            Reference.MatmulQ8.Forward(output, input, values, scales, bias, N, C, OC);
            return;
        }
        int nb = Reference.MatmulQ8.Blocks(C), stride = nb * Block;
        Reference.Matmul.CheckShapes(output.Length, input.Length, checked(OC * C), bias.Length, N, C, OC);
        if (values.Length != (long)OC * stride || scales.Length != (long)OC * nb)
            throw new ArgumentException($"q8 weights of {values.Length} values and {scales.Length} scales do not fit OC={OC}, C={C}");
        float[] xs = ArrayPool<float>.Shared.Rent(Math.Max(1, N * stride));
        for (int n = 0; n < N; n++)
        {
            input.Slice(n * C, C).CopyTo(xs.AsSpan(n * stride));
            xs.AsSpan(n * stride + C, stride - C).Clear();
        }
        fixed (float* po = output, px = xs, pb = bias, pd = scales)
        fixed (sbyte* pq = values)
            WeightRows.Run(new Rows(pq, pd, nb), po, px, stride, bias.Length != 0 ? pb : null, N, C, OC);
        ArrayPool<float>.Shared.Return(xs);
    }

    private readonly struct Rows(sbyte* values, float* scales, int nb) : WeightRows.IRows
    {
        public float Dot(int o, float* x)
        {
            sbyte* q = values + (long)o * nb * Block;
            float* d = scales + (long)o * nb;
            if (Avx512F.IsSupported)
            {
                // Two totals, alternate blocks, so consecutive blocks' scale FMAs do not wait on each other.
                Vector512<float> t0 = default, t1 = default;
                int b = 0;
                for (; b + 2 <= nb; b += 2)
                {
                    t0 = Vector512.FusedMultiplyAdd(Block512(q + b * Block, x + b * Block), Vector512.Create(d[b]), t0);
                    t1 = Vector512.FusedMultiplyAdd(Block512(q + (b + 1) * Block, x + (b + 1) * Block), Vector512.Create(d[b + 1]), t1);
                }
                if (b < nb) t0 = Vector512.FusedMultiplyAdd(Block512(q + b * Block, x + b * Block), Vector512.Create(d[b]), t0);
                return Vector512.Sum(t0 + t1);
            }
            Vector256<float> s0 = default, s1 = default;
            for (int b = 0; b < nb; b++)
            {
                sbyte* qb = q + b * Block;
                float* xb = x + b * Block;
                var p = Vector256.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(qb)), Vector256.Load(xb));
                p = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(qb + 8)), Vector256.Load(xb + 8), p);
                p = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(qb + 16)), Vector256.Load(xb + 16), p);
                p = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(qb + 24)), Vector256.Load(xb + 24), p);
                if ((b & 1) == 0) s0 = Vector256.FusedMultiplyAdd(p, Vector256.Create(d[b]), s0);
                else s1 = Vector256.FusedMultiplyAdd(p, Vector256.Create(d[b]), s1);
            }
            return Vector256.Sum(s0 + s1);
        }

        /// <summary>The 16 lanes of Σ q·x over one block (not yet scaled).</summary>
        private static Vector512<float> Block512(sbyte* q, float* x)
        {
            var w0 = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q)));
            var w1 = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(q + 16)));
            return Vector512.FusedMultiplyAdd(w1, Vector512.Load(x + 16), w0 * Vector512.Load(x));
        }
    }
}
