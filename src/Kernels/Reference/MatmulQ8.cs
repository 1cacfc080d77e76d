namespace Hyper.Kernels.Reference;

/// <summary>
/// The fully connected layer with 8-bit weights in blocks: each weight row [C] is cut into blocks
/// of <see cref="Block"/> along C (the reduction dimension; the last block is zero-padded), and a
/// block is 32 int8 values q and one fp32 scale d with w ≈ d·q, d = max|w|/127 (symmetric, no
/// offset). This is llama.cpp's Q8_0 except that the scale is fp32 rather than fp16 (1.125 instead
/// of 1.0625 bytes a weight, in exchange for a kernel with no scale conversion), and scales and
/// values are stored as two planes, q[OC, nb·32] and d[OC, nb], so every block's values are one
/// aligned 32-byte load.
/// Inputs, bias, outputs and sums are fp32.
/// </summary>
public static class MatmulQ8
{
    /// <summary>Weights per scale.</summary>
    public const int Block = 32;

    /// <summary>Blocks per row of C weights.</summary>
    public static int Blocks(int C) => (C + Block - 1) / Block;

    /// <summary>Quantises weight[OC,C] into values q[OC, Blocks(C)·32] and scales d[OC, Blocks(C)] (round to nearest, ties to even).</summary>
    public static (sbyte[] Values, float[] Scales) Pack(ReadOnlySpan<float> weight, int C, int OC)
    {
        if ((long)C * OC != weight.Length) throw new ArgumentException($"weight has {weight.Length} floats, expected OC·C = {(long)C * OC}", nameof(weight));
        int nb = Blocks(C);
        var q = new sbyte[(long)OC * nb * Block];
        var d = new float[(long)OC * nb];
        for (int o = 0; o < OC; o++)
            for (int b = 0; b < nb; b++)
            {
                int c0 = b * Block, len = Math.Min(Block, C - c0);
                ReadOnlySpan<float> w = weight.Slice(o * C + c0, len);
                float amax = 0f;
                foreach (float v in w) amax = Math.Max(amax, Math.Abs(v));
                float scale = amax / 127f, inv = amax > 0f ? 127f / amax : 0f;
                d[o * nb + b] = scale;
                for (int i = 0; i < len; i++)
                    q[((long)o * nb + b) * Block + i] = (sbyte)Math.Clamp(MathF.Round(w[i] * inv), -127f, 127f);
            }
        return (q, d);
    }

    /// <summary>out[N,OC] = inp[N,C] · dequant(q, d)[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        int nb = Blocks(C);
        Matmul.CheckShapes(output.Length, input.Length, checked(OC * C), bias.Length, N, C, OC);
        if (values.Length != (long)OC * nb * Block || scales.Length != (long)OC * nb)
            throw new ArgumentException($"q8 weights of {values.Length} values and {scales.Length} scales do not fit OC={OC}, C={C}");
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
            {
                float sum = bias.Length != 0 ? bias[o] : 0f;
                for (int c = 0; c < C; c++)
                    sum += input[n * C + c] * (scales[o * nb + c / Block] * values[(o * nb + c / Block) * Block + c % Block]);
                output[n * OC + o] = sum;
            }
    }
}
