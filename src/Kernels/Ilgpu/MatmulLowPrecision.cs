using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// The shape of a matmul forward out[N,OC] = inp[N,C] · W[OC,C]ᵀ (+ bias) whose weights are packed in a
/// low-precision format (see <see cref="MatmulLowPrecision"/>).
/// </summary>
public readonly struct LowPrecisionShape
{
    /// <summary>Input rows, reduction length and output channels.</summary>
    public readonly int N, C, OC;

    /// <summary>1: the weights are q8 (values and scales); 0: bf16 (values only).</summary>
    public readonly int Q8;

    /// <summary>q8 blocks of 32 per weight row, ⌈C/32⌉ (0 for bf16).</summary>
    public readonly int Blocks;

    /// <summary>1 if a bias is added.</summary>
    public readonly int HasBias;

    /// <summary>The shape of one forward with <paramref name="format"/>'s weights (bf16 or q8).</summary>
    public LowPrecisionShape(WeightFormat format, int N, int C, int OC, bool hasBias)
    {
        this.N = N;
        this.C = C;
        this.OC = OC;
        Q8 = format == WeightFormat.Q8 ? 1 : 0;
        Blocks = Q8 == 1 ? Reference.MatmulQ8.Blocks(C) : 0;
        HasBias = hasBias ? 1 : 0;
    }
}

/// <summary>
/// Matmul forward reading bf16 or q8 weights as they are stored on the device, so a decode step moves
/// 2 or 1.125 bytes a weight instead of 4. The layouts are the reference's (<c>Reference.MatmulBf16.Pack</c>,
/// <see cref="Reference.MatmulQ8.Pack"/>) viewed as 32-bit words: bf16 two values a word, element 2k in the
/// low half of word k (little-endian); q8 four int8 values a word, each row whole blocks of 32 (the
/// last zero-padded) with one fp32 scale a block in a second array. The input and every sum stay fp32,
/// so the products are the fp32 reference's on the rounded weights, to fp32 rounding.
/// <para>
/// Three kernels. <see cref="Naive"/>, one thread per output and no barriers, for ILGPU's CPU accelerator (where a
/// barrier costs about 0.1 ms per thread of the group). On a GPU, chosen by the caller on N: <see cref="Rows"/> for decoding (a group per output channel,
/// its threads striding along the weight row, so consecutive threads read consecutive weights and each
/// weight is read once for up to <see cref="RowsPerGroup"/> input rows), and <see cref="Tiled"/> for
/// prefill (16×16 tiles in shared memory, each weight converted once per tile, as <see cref="Matmul.Tiled"/>).
/// </para>
/// </summary>
public static class MatmulLowPrecision
{
    private const int Q8Block = Reference.MatmulQ8.Block;

    /// <summary>Input rows one group of <see cref="Rows"/> multiplies each weight row by.</summary>
    public const int RowsPerGroup = 4;

    /// <summary>Side of <see cref="Tiled"/>'s square tiles; its group is Tile×Tile threads.</summary>
    public const int Tile = 16;

    /// <summary>Weight (o, c) as fp32: the bf16 bits in the upper half, or the q8 value times its block's scale.</summary>
    private static float Weight(ArrayView<uint> values, ArrayView<float> scales, LowPrecisionShape s, int o, int c)
    {
        if (s.Q8 == 0)
        {
            long i = (long)o * s.C + c;
            uint word = values[i >> 1];
            return Interop.IntAsFloat((i & 1) == 0 ? word << 16 : word & 0xFFFF0000u);
        }
        long j = (long)o * s.Blocks * Q8Block + c;
        // Shift the byte to the top, then arithmetically back down: the int8 value with its sign.
        int q = (int)(values[j >> 2] << (24 - 8 * (int)(j & 3))) >> 24;
        return scales[(long)o * s.Blocks + c / Q8Block] * q;
    }

    private static float In(ArrayView<float> input, LowPrecisionShape s, int n, int c) => n < s.N ? input[(long)n * s.C + c] : 0f;

    private static void Store(ArrayView<float> output, ArrayView<float> bias, LowPrecisionShape s, int n, int o, float sum)
    {
        if (n >= s.N) return;
        if (s.HasBias != 0) sum += bias[o];
        output[(long)n * s.OC + o] = sum;
    }

    /// <summary>Each out[n, o] from one dot product over global memory, a grid-stride loop over N·OC (no barriers).</summary>
    public static void Naive(ArrayView<float> output, ArrayView<float> input, ArrayView<uint> values, ArrayView<float> scales,
        ArrayView<float> bias, LowPrecisionShape s)
    {
        for (long index = Grid.GlobalIndex.X; index < (long)s.N * s.OC; index += GridStride.Step)
        {
            int n = (int)(index / s.OC), o = (int)(index % s.OC);
            float sum = 0;
            for (int c = 0; c < s.C; c++) sum += In(input, s, n, c) * Weight(values, scales, s, o, c);
            Store(output, bias, s, n, o, sum);
        }
    }

    /// <summary>
    /// Decoding: grid (OC, ⌈N/RowsPerGroup⌉) groups of a power-of-two size ≤ <see cref="GroupReduce.MaxGroupSize"/>.
    /// Group (o, r) computes out[n, o] for the rows n = 4r..4r+3: its threads take the weights c ≡ thread
    /// (mod group size) of row o, each once for all four rows, and the group sums the four partials.
    /// </summary>
    public static void Rows(ArrayView<float> output, ArrayView<float> input, ArrayView<uint> values, ArrayView<float> scales,
        ArrayView<float> bias, LowPrecisionShape s)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int o = Grid.IdxX, n0 = Grid.IdxY * RowsPerGroup;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int c = Group.IdxX; c < s.C; c += Group.DimX)
        {
            float w = Weight(values, scales, s, o, c);
            s0 += w * In(input, s, n0, c);
            s1 += w * In(input, s, n0 + 1, c);
            s2 += w * In(input, s, n0 + 2, c);
            s3 += w * In(input, s, n0 + 3, c);
        }
        // Every thread takes part in each sum (they contain barriers).
        s0 = GroupReduce.Sum(scratch, s0);
        s1 = GroupReduce.Sum(scratch, s1);
        s2 = GroupReduce.Sum(scratch, s2);
        s3 = GroupReduce.Sum(scratch, s3);
        if (Group.IdxX != 0) return;
        Store(output, bias, s, n0, o, s0);
        Store(output, bias, s, n0 + 1, o, s1);
        Store(output, bias, s, n0 + 2, o, s2);
        Store(output, bias, s, n0 + 3, o, s3);
    }

    /// <summary>
    /// Prefill: group (Tile, Tile), grid (⌈OC/Tile⌉, ⌈N/Tile⌉). Thread (tx, ty) computes out[n0+ty, o0+tx]; per
    /// step of Tile along C it loads one input value and converts one weight, W(o0+ty, k0+tx), so that
    /// consecutive threads read consecutive weights of a row. Out-of-range elements load as zeros, so every
    /// thread runs the same loop and reaches every barrier.
    /// </summary>
    public static void Tiled(ArrayView<float> output, ArrayView<float> input, ArrayView<uint> values, ArrayView<float> scales,
        ArrayView<float> bias, LowPrecisionShape s)
    {
        var tileX = SharedMemory.Allocate<float>(Tile * Tile); // tileX[ty, kk] = inp(n0+ty, k0+kk)
        var tileW = SharedMemory.Allocate<float>(Tile * Tile); // tileW[kk, j] = W(o0+j, k0+kk)
        int tx = Group.IdxX, ty = Group.IdxY;
        int n = Grid.IdxY * Tile + ty, o = Grid.IdxX * Tile + tx, oLoad = Grid.IdxX * Tile + ty;
        float sum = 0;
        for (int k0 = 0; k0 < s.C; k0 += Tile)
        {
            int c = k0 + tx;
            tileX[ty * Tile + tx] = n < s.N && c < s.C ? input[(long)n * s.C + c] : 0f;
            tileW[tx * Tile + ty] = oLoad < s.OC && c < s.C ? Weight(values, scales, s, oLoad, c) : 0f;
            Group.Barrier();
            for (int kk = 0; kk < Tile; kk++) sum += tileX[ty * Tile + kk] * tileW[kk * Tile + tx];
            Group.Barrier();
        }
        if (o < s.OC) Store(output, bias, s, n, o, sum);
    }
}
