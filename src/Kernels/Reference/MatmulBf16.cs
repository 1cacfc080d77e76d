namespace Hyper.Kernels.Reference;

/// <summary>
/// The fully connected layer with bfloat16 weights: out[N,OC] = inp[N,C] · dequant(weight)[OC,C]ᵀ + bias[OC],
/// inputs, bias and outputs fp32, sums in fp32. A bf16 weight is the upper 16 bits of an fp32
/// (same exponent range, 8 bits of mantissa): widening is a shift, and a Hugging Face BF16
/// checkpoint's values are kept exactly.
/// </summary>
public static class MatmulBf16
{
    /// <summary>fp32 → bf16, round to nearest even (as PyTorch's <c>.to(torch.bfloat16)</c>); NaN stays a quiet NaN.</summary>
    public static ushort FromFloat(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>bf16 → fp32 (exact).</summary>
    public static float ToFloat(ushort h) => BitConverter.UInt32BitsToSingle((uint)h << 16);

    /// <summary>The bf16 copy of <paramref name="weight"/>, element for element.</summary>
    public static ushort[] Pack(ReadOnlySpan<float> weight)
    {
        var packed = new ushort[weight.Length];
        Pack(weight, packed);
        return packed;
    }

    /// <summary>The bf16 copy of <paramref name="weight"/> written to <paramref name="packed"/> (as long).</summary>
    public static void Pack(ReadOnlySpan<float> weight, Span<ushort> packed)
    {
        if (packed.Length != weight.Length) throw new ArgumentException($"{packed.Length} bf16 values for {weight.Length} weights", nameof(packed));
        for (int i = 0; i < weight.Length; i++) packed[i] = FromFloat(weight[i]);
    }

    /// <summary>Each weight rounded to bf16 and widened back: the fp32 values <see cref="Forward"/> multiplies by.</summary>
    public static float[] Rounded(ReadOnlySpan<float> weight)
    {
        var rounded = new float[weight.Length];
        for (int i = 0; i < weight.Length; i++) rounded[i] = ToFloat(FromFloat(weight[i]));
        return rounded;
    }

    /// <summary>out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<ushort> weight, ReadOnlySpan<float> bias,
        int N, int C, int OC)
    {
        Matmul.CheckShapes(output.Length, input.Length, weight.Length, bias.Length, N, C, OC);
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++)
            {
                float sum = bias.Length != 0 ? bias[o] : 0f;
                for (int c = 0; c < C; c++) sum += input[n * C + c] * ToFloat(weight[o * C + c]);
                output[n * OC + o] = sum;
            }
    }
}
