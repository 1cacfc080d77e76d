namespace Hyper.Kernels.Reference;

/// <summary>
/// The fully connected layer with 8-bit weights in blocks: each weight row [C] is cut into blocks
/// of <see cref="Block"/> along C (the reduction dimension; the last block is zero-padded), and a
/// block is 32 int8 values q and one fp32 scale d with w ≈ d·q, d = max|w|/127 (symmetric, no
/// offset). This is llama.cpp's Q8_0 except that the scale is fp32 rather than fp16 (1.125 instead
/// of 1.0625 bytes a weight, in exchange for a kernel with no scale conversion), and scales and
/// values are stored as two planes, q[OC, nb·32] and d[OC, nb], so every block's values are one
/// aligned 32-byte load.
/// <para>
/// The product is taken in integers, llama.cpp's way (it pairs Q8_0 weights with an 8-bit copy of
/// the activation): each input row is rounded per block to integers r with |r| ≤ <see cref="InputLevels"/>
/// (64) and its own scale e = max|x|/64, the block's dot product Σ q·r is exact in int32, and the
/// row's result is Σ_blocks d·e·(Σ q·r) in fp32. 64 rather than llama.cpp's 127: the CPU kernel has
/// no VNNI from .NET 10 on Zen 4 (it exposes VNNI only through AVX10 or the VEX AVX-VNNI), and its
/// integer dot product is vpmaddubsw, which adds two u8·s8 products into a saturating int16. With the
/// weights offset to q + 128 ≤ 255, two products stay within 2·255·64 = 32640 &lt; 32767 only for
/// |r| ≤ 64. The input's rounding is then at most 2^-7 of the block's largest value (the weights':
/// 2^-8 of theirs). Bias and outputs are fp32.
/// </para>
/// </summary>
public static class MatmulQ8
{
    /// <summary>Weights per scale.</summary>
    public const int Block = 32;

    /// <summary>The largest |r| of a rounded input (<see cref="QuantizeInput"/>).</summary>
    public const int InputLevels = 64;

    /// <summary>Blocks per row of C weights.</summary>
    public static int Blocks(int C) => (C + Block - 1) / Block;

    /// <summary>Quantises weight[OC,C] into values q[OC, Blocks(C)·32] and scales d[OC, Blocks(C)] (round to nearest, ties to even).</summary>
    public static (sbyte[] Values, float[] Scales) Pack(ReadOnlySpan<float> weight, int C, int OC)
    {
        if ((long)C * OC != weight.Length) throw new ArgumentException($"weight has {weight.Length} floats, expected OC·C = {(long)C * OC}", nameof(weight));
        int nb = Blocks(C);
        var q = new sbyte[(long)OC * nb * Block];
        var d = new float[(long)OC * nb];
        for (int o = 0; o < OC; o++) PackRow(weight.Slice(o * C, C), q.AsSpan(o * nb * Block, nb * Block), d.AsSpan(o * nb, nb));
        return (q, d);
    }

    /// <summary>
    /// One row of <see cref="Pack"/>: weight[C] into values q[Blocks(C)·32] (the last block's padding zero) and
    /// scales d[Blocks(C)], for callers that lay rows out as they go instead of holding whole planes.
    /// </summary>
    public static void PackRow(ReadOnlySpan<float> weight, Span<sbyte> q, Span<float> d)
    {
        int C = weight.Length, nb = Blocks(C);
        if (q.Length != nb * Block || d.Length != nb)
            throw new ArgumentException($"a row of {C} weights takes {nb * Block} values and {nb} scales, not {q.Length} and {d.Length}");
        q.Slice(C).Clear();
        for (int b = 0; b < nb; b++)
        {
            int c0 = b * Block, len = Math.Min(Block, C - c0);
            ReadOnlySpan<float> w = weight.Slice(c0, len);
            float amax = 0f;
            foreach (float v in w) amax = Math.Max(amax, Math.Abs(v));
            float scale = amax / 127f, inv = amax > 0f ? 127f / amax : 0f;
            d[b] = scale;
            for (int i = 0; i < len; i++) q[c0 + i] = (sbyte)Math.Clamp(MathF.Round(w[i] * inv), -127f, 127f);
        }
    }

    /// <summary>The weights [OC,C] that values q and scales d stand for, w = d·q (the padding of the last block dropped).</summary>
    public static float[] Dequantize(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int C, int OC)
    {
        int nb = Blocks(C);
        if (values.Length != (long)OC * nb * Block || scales.Length != (long)OC * nb)
            throw new ArgumentException($"q8 weights of {values.Length} values and {scales.Length} scales do not fit OC={OC}, C={C}");
        var weight = new float[(long)OC * C];
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++)
                weight[o * C + c] = scales[o * nb + c / Block] * values[(o * nb + c / Block) * Block + c % Block];
        return weight;
    }

    /// <summary>
    /// Rounds x[C] per block to integers: values r[Blocks(C)·32] (zero-padded), |r| ≤ <see cref="InputLevels"/>,
    /// and scales e[Blocks(C)] with x ≈ e·r, e = max|x|/64 (round to nearest, ties to even).
    /// </summary>
    public static void QuantizeInput(ReadOnlySpan<float> x, Span<sbyte> values, Span<float> scales)
    {
        int nb = Blocks(x.Length);
        values.Slice(0, nb * Block).Clear();
        for (int b = 0; b < nb; b++)
        {
            int c0 = b * Block, len = Math.Min(Block, x.Length - c0);
            float amax = 0f;
            for (int i = 0; i < len; i++) amax = Math.Max(amax, Math.Abs(x[c0 + i]));
            float inv = amax > 0f ? InputLevels / amax : 0f;
            scales[b] = amax / InputLevels;
            for (int i = 0; i < len; i++) values[c0 + i] = (sbyte)Math.Clamp(MathF.Round(x[c0 + i] * inv), -InputLevels, InputLevels);
        }
    }

    /// <summary>out[N,OC] = inp[N,C] · dequant(q, d)[OC,C]ᵀ + bias[OC] (bias may be empty), with inp rounded as <see cref="QuantizeInput"/>; overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        int nb = Blocks(C);
        Matmul.CheckShapes(output.Length, input.Length, checked(OC * C), bias.Length, N, C, OC);
        if (values.Length != (long)OC * nb * Block || scales.Length != (long)OC * nb)
            throw new ArgumentException($"q8 weights of {values.Length} values and {scales.Length} scales do not fit OC={OC}, C={C}");
        var r = new sbyte[nb * Block];
        var e = new float[nb];
        for (int n = 0; n < N; n++)
        {
            QuantizeInput(input.Slice(n * C, C), r, e);
            for (int o = 0; o < OC; o++)
            {
                float sum = bias.Length != 0 ? bias[o] : 0f;
                for (int b = 0; b < nb; b++)
                {
                    int dot = 0;
                    for (int i = 0; i < Block; i++) dot += values[(o * nb + b) * Block + i] * r[b * Block + i];
                    sum += scales[o * nb + b] * e[b] * dot;
                }
                output[n * OC + o] = sum;
            }
        }
    }
}
