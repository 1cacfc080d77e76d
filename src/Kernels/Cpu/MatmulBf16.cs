using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The fully connected layer with bf16 weights, same contract as <see cref="Reference.MatmulBf16"/>:
/// a matrix-vector kernel that reads 2 bytes a weight instead of 4.
/// <para>
/// Widening bf16 is a shift, but widening 16 of them into a zmm of floats in order takes a
/// cross-lane zero-extend per vector. Instead a 64-byte load is taken as 16 uint32 lanes, each
/// holding two neighbours: the even element is <c>u &lt;&lt; 16</c> and the odd one
/// <c>u &amp; 0xFFFF0000</c>, one cheap in-lane op each. The input row is reordered once per call
/// to match (per 32 floats: the 16 even ones, then the 16 odd ones), so the dot product's order
/// changes but not its terms. Four FMA chains over 64 weights per step, as the fp32 GEMV.
/// </para>
/// </summary>
public static unsafe class MatmulBf16
{
    private const int Chunk = 32; // weights per reordered group: one zmm of uint32 pairs

    /// <summary>out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<ushort> weight, ReadOnlySpan<float> bias,
        int N, int C, int OC)
    {
        Reference.Matmul.CheckShapes(output.Length, input.Length, weight.Length, bias.Length, N, C, OC);
        if (!Vector256.IsHardwareAccelerated)
        {
            Reference.MatmulBf16.Forward(output, input, weight, bias, N, C, OC);
            return;
        }
        float[] xs = ArrayPool<float>.Shared.Rent(Math.Max(1, N * C));
        for (int n = 0; n < N; n++) Reorder(input.Slice(n * C, C), xs.AsSpan(n * C, C));
        fixed (float* po = output, px = xs, pin = input, pb = bias)
        fixed (ushort* pw = weight)
            WeightRows.Run(new Rows(pw, px, C), po, pin, bias.Length != 0 ? pb : null, N, C, OC);
        ArrayPool<float>.Shared.Return(xs);
    }

    /// <summary>x in the order the kernel pairs it with the weights: per whole chunk evens then odds; the tail as it is.</summary>
    private static void Reorder(ReadOnlySpan<float> x, Span<float> to)
    {
        int c = 0;
        for (; c + Chunk <= x.Length; c += Chunk)
            for (int i = 0; i < Chunk / 2; i++)
            {
                to[c + i] = x[c + 2 * i];
                to[c + Chunk / 2 + i] = x[c + 2 * i + 1];
            }
        for (; c < x.Length; c++) to[c] = x[c];
    }

    private readonly struct Rows(ushort* weight, float* input, int C) : WeightRows.IRows
    {
        public void Widen(int o, float* row)
        {
            ushort* w = weight + (long)o * C;
            int c = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; c + 16 <= C; c += 16)
                    (Vector512.WidenLower(Vector256.Load(w + c).ToVector512()) << 16).AsSingle().Store(row + c);
            else if (Avx2.IsSupported) // Vector512 is emulated there
                for (; c + 8 <= C; c += 8)
                    (Avx2.ConvertToVector256Int32(w + c) << 16).AsSingle().Store(row + c);
            for (; c < C; c++) row[c] = Reference.MatmulBf16.ToFloat(w[c]);
        }

        public float Dot(int o, int n)
        {
            float* x = input + (long)n * C;
            ushort* w = weight + (long)o * C;
            int c = 0;
            float s;
            if (Vector512.IsHardwareAccelerated)
            {
                var hi = Vector512.Create(0xFFFF0000u);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (; c + 2 * Chunk <= C; c += 2 * Chunk)
                {
                    var u0 = Vector512.Load((uint*)(w + c));
                    var u1 = Vector512.Load((uint*)(w + c + Chunk));
                    a0 = Vector512.FusedMultiplyAdd((u0 << 16).AsSingle(), Vector512.Load(x + c), a0);
                    a1 = Vector512.FusedMultiplyAdd((u0 & hi).AsSingle(), Vector512.Load(x + c + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd((u1 << 16).AsSingle(), Vector512.Load(x + c + Chunk), a2);
                    a3 = Vector512.FusedMultiplyAdd((u1 & hi).AsSingle(), Vector512.Load(x + c + Chunk + 16), a3);
                }
                for (; c + Chunk <= C; c += Chunk)
                {
                    var u0 = Vector512.Load((uint*)(w + c));
                    a0 = Vector512.FusedMultiplyAdd((u0 << 16).AsSingle(), Vector512.Load(x + c), a0);
                    a1 = Vector512.FusedMultiplyAdd((u0 & hi).AsSingle(), Vector512.Load(x + c + 16), a1);
                }
                s = Vector512.Sum((a0 + a1) + (a2 + a3));
            }
            else
            {
                // A chunk is two ymm of pairs: evens of the first at x[c..c+8), of the second at x[c+8..c+16); odds 16 further.
                var hi = Vector256.Create(0xFFFF0000u);
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (; c + Chunk <= C; c += Chunk)
                {
                    var u0 = Vector256.Load((uint*)(w + c));
                    var u1 = Vector256.Load((uint*)(w + c + 16));
                    a0 = Vector256.FusedMultiplyAdd((u0 << 16).AsSingle(), Vector256.Load(x + c), a0);
                    a1 = Vector256.FusedMultiplyAdd((u0 & hi).AsSingle(), Vector256.Load(x + c + 16), a1);
                    a2 = Vector256.FusedMultiplyAdd((u1 << 16).AsSingle(), Vector256.Load(x + c + 8), a2);
                    a3 = Vector256.FusedMultiplyAdd((u1 & hi).AsSingle(), Vector256.Load(x + c + 24), a3);
                }
                s = Vector256.Sum((a0 + a1) + (a2 + a3));
            }
            for (; c < C; c++) s += Reference.MatmulBf16.ToFloat(w[c]) * x[c];
            return s;
        }
    }
}
