using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The fully connected layer with blocked 8-bit weights, same contract, format and arithmetic as
/// <see cref="Reference.MatmulQ8"/>: a matrix-vector kernel that reads 1.125 bytes a weight.
/// <para>
/// The weights are kept in a CPU layout (<see cref="Packed"/>): each value offset to q + 128 (a u8),
/// and each pair of blocks interleaved in groups of four, so that one 64-byte load holds two blocks
/// and the 16 int32 lanes of a multiply-add alternate between them. Per pair of blocks the AVX-512
/// path then does five ops: vpmaddubsw (u8 weights by the int8 input, 32 pair sums in int16 that
/// cannot saturate, see <see cref="Reference.MatmulQ8.InputLevels"/>), vpmaddwd by ones (16 int32
/// lane sums), a conversion to float, and one multiply and one FMA by the lanes' scales, the
/// weights' pair of scales broadcast as one 8-byte value against the input's scales laid out the
/// same way. The offset adds 128·Σr per block, taken off once per row as Σ_blocks d·(128·e·Σr).
/// </para>
/// <para>
/// The previous kernel, int16 inputs with a sign-extension of each block to int16 and one vpmaddwd,
/// did seven ops a block (with a scalar scale product and a broadcast): ~1.0 ns a block on one Zen 4
/// core from L2, against ~0.65 ns for this loop (a standalone harness, one process, rows of 768 and 6144).
/// gpt2's q8 decoding measured the same with either: its steps are not bound by this arithmetic.
/// </para>
/// </summary>
public static unsafe class MatmulQ8
{
    private const int Block = Reference.MatmulQ8.Block;
    private const int Pair = 2 * Block;
    private const int Offset = 128;
    // Weight bytes the kernel asks for ahead of its reads, across rows. gpt2's 49 decode matmuls from one 2 MiB-page
    // arena (two threads, every matrix from DRAM, the distances interleaved in one process, median of 40 steps) on a
    // Zen 4: none 5.82 ms, 2 KiB 5.03, 4 KiB 4.87, 8 KiB 5.01, 16 KiB 5.20; prefetching the scales as well did not
    // help. (bf16's kernel, a single stream, measured the other way: 8.2 ms without, 10.5-10.6 ms with 2-8 KiB.)
    private const int PrefetchAhead = 4096;

    /// <summary>
    /// q8 weights [OC, C] in the CPU layout: <see cref="Values"/> [OC, nb·32] with every value as q + 128,
    /// per row the blocks 2p and 2p+1 interleaved in groups of four (group g of block 2p+h at byte
    /// 64p + 8g + 4h) and a last block of an odd count as it is; <see cref="Scales"/> [OC, nb] as the
    /// reference's. As many bytes as the reference's planes. Held in managed arrays (<see cref="Pack"/>)
    /// or in memory the caller owns and never moves (<c>PackInto</c>: the CPU backend's huge-page arena).
    /// </summary>
    public sealed class Packed
    {
        private readonly byte[]? _values;
        private readonly float[]? _scales;
        private readonly byte* _valuesAt;
        private readonly float* _scalesAt;

        internal Packed(byte[] values, float[] scales, int c, int oc)
        {
            _values = values;
            _scales = scales;
            C = c;
            OC = oc;
        }

        internal Packed(byte* values, float* scales, int c, int oc)
        {
            _valuesAt = values;
            _scalesAt = scales;
            C = c;
            OC = oc;
        }

        /// <summary>The offset, interleaved values: OC·nb·32 bytes.</summary>
        public ReadOnlySpan<byte> Values => _values ?? new ReadOnlySpan<byte>(_valuesAt, checked(OC * Stride(C)));

        /// <summary>One fp32 scale per block: OC·nb floats.</summary>
        public ReadOnlySpan<float> Scales => _scales ?? new ReadOnlySpan<float>(_scalesAt, checked(OC * Reference.MatmulQ8.Blocks(C)));

        /// <summary>Reduction length.</summary>
        public int C { get; }

        /// <summary>Output channels (weight rows).</summary>
        public int OC { get; }

        /// <summary>Bytes held: values and scales.</summary>
        public long Bytes => ValueBytes(C, OC) + ScaleBytes(C, OC);
    }

    private static int Stride(int C) => Reference.MatmulQ8.Blocks(C) * Block;

    /// <summary>Bytes of <see cref="Packed.Values"/> for [OC, C] weights.</summary>
    public static long ValueBytes(int C, int OC) => (long)OC * Stride(C);

    /// <summary>Bytes of <see cref="Packed.Scales"/> for [OC, C] weights.</summary>
    public static long ScaleBytes(int C, int OC) => 4L * OC * Reference.MatmulQ8.Blocks(C);

    /// <summary>The reference's planes (<see cref="Reference.MatmulQ8.Pack"/>) in the CPU layout, in new arrays.</summary>
    public static Packed Pack(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int C, int OC)
    {
        var v = new byte[ValueBytes(C, OC)];
        var d = new float[ScaleBytes(C, OC) / 4];
        Lay(values, scales, C, OC, v, d);
        return new Packed(v, d, C, OC);
    }

    /// <summary>
    /// fp32 weights [OC, C] quantised as the reference does (<see cref="Reference.MatmulQ8.PackRow"/>) and laid out
    /// row by row at <paramref name="valuesAt"/> (<see cref="ValueBytes"/>) and <paramref name="scalesAt"/> (<see cref="ScaleBytes"/>),
    /// memory the caller keeps in place and alive for as long as the result is used: the bytes <see cref="Pack"/> gives
    /// for the reference's planes, without holding those planes (for a 128256 x 4096 head, 525 MB of values at once).
    /// </summary>
    public static Packed PackInto(ReadOnlySpan<float> weight, int C, int OC, byte* valuesAt, float* scalesAt)
    {
        if ((long)C * OC != weight.Length) throw new ArgumentException($"weight has {weight.Length} floats, expected OC·C = {(long)C * OC}", nameof(weight));
        int nb = Reference.MatmulQ8.Blocks(C), stride = nb * Block;
        fixed (float* pw = weight)
        {
            nint w = (nint)pw, v = (nint)valuesAt, d = (nint)scalesAt;
            // Rows are independent: ranges of them over the cores, each with one row of scratch.
            CpuParallel.ForRange(OC, 64, (o0, o1) =>
            {
                sbyte[] row = ArrayPool<sbyte>.Shared.Rent(stride);
                for (int o = o0; o < o1; o++)
                {
                    Reference.MatmulQ8.PackRow(new ReadOnlySpan<float>((float*)w + (long)o * C, C), row.AsSpan(0, stride),
                        new Span<float>((float*)d + (long)o * nb, nb));
                    LayRow(row.AsSpan(0, stride), nb, new Span<byte>((byte*)v + (long)o * stride, stride));
                }
                ArrayPool<sbyte>.Shared.Return(row);
            });
        }
        return new Packed(valuesAt, scalesAt, C, OC);
    }

    private static void Lay(ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int C, int OC, Span<byte> v, Span<float> d)
    {
        int nb = Reference.MatmulQ8.Blocks(C), stride = nb * Block;
        if (values.Length != (long)OC * stride || scales.Length != (long)OC * nb)
            throw new ArgumentException($"q8 weights of {values.Length} values and {scales.Length} scales do not fit OC={OC}, C={C}");
        for (int o = 0; o < OC; o++) LayRow(values.Slice(o * stride, stride), nb, v.Slice(o * stride, stride));
        scales.CopyTo(d);
    }

    /// <summary>
    /// One row of nb blocks of values q into the CPU layout (see <see cref="Position"/>), four bytes at a time: per pair of
    /// blocks, group g of the first then group g of the second. Adding the offset 128 to a byte is flipping its top bit.
    /// </summary>
    private static void LayRow(ReadOnlySpan<sbyte> q, int nb, Span<byte> v)
    {
        var from = MemoryMarshal.Cast<sbyte, uint>(q);
        var to = MemoryMarshal.Cast<byte, uint>(v);
        const uint Flip = 0x80808080u;
        const int Words = Block / 4; // 8 groups of four a block
        int pairs = nb / 2;
        for (int p = 0; p < pairs; p++)
            for (int g = 0; g < Words; g++)
            {
                to[p * 2 * Words + 2 * g] = from[2 * p * Words + g] ^ Flip;
                to[p * 2 * Words + 2 * g + 1] = from[(2 * p + 1) * Words + g] ^ Flip;
            }
        for (int i = pairs * 2 * Words; i < from.Length; i++) to[i] = from[i] ^ Flip; // the lone last block, as it is
    }

    /// <summary>Where element i of a row of nb blocks (block i/32) sits in the CPU layout.</summary>
    internal static int Position(int i, int nb)
    {
        int b = i / Block, k = i % Block;
        if (b == nb - 1 && (nb & 1) == 1) return i; // the lone last block stays as it is
        return (b >> 1) * Pair + (k >> 2) * 8 + (b & 1) * 4 + (k & 3);
    }

    /// <summary>Packs the reference's planes and multiplies: for tests and one-off calls (a model packs once, <see cref="Pack"/>).</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, int N, int C, int OC)
        => Forward(output, input, Pack(values, scales, C, OC), bias, N);

    /// <summary>out[N,OC] = inp[N,C] · dequant(weights)[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, Packed weights, ReadOnlySpan<float> bias, int N)
    {
        int C = weights.C, OC = weights.OC;
        int nb = Reference.MatmulQ8.Blocks(C), stride = nb * Block, np = nb / 2;
        Reference.Matmul.CheckShapes(output.Length, input.Length, checked(OC * C), bias.Length, N, C, OC);
        // Up to FusedRows input rows, per row: the rounded values in the weights' layout, the lanes' scales of each
        // pair, the scale of every block, and each block's offset term 128·e·Σr. Past FusedRows the kernels multiply
        // fp32 copies of the same rounded inputs instead (WeightRows.Run), e·r in the same layout, so both paths
        // compute the reference's sum.
        float[]? plain = N > WeightRows.FusedRows ? ArrayPool<float>.Shared.Rent(N * stride) : null;
        int R = plain is null ? N : 0;
        sbyte[] x = ArrayPool<sbyte>.Shared.Rent(Math.Max(1, R * stride));
        float[] lanes = ArrayPool<float>.Shared.Rent(Math.Max(1, R * np * 16));
        float[] e = ArrayPool<float>.Shared.Rent(Math.Max(1, R * nb));
        float[] offsets = ArrayPool<float>.Shared.Rent(Math.Max(1, R * nb));
        for (int n = 0; n < N; n++)
        {
            if (plain is not null) PreparePlain(input.Slice(n * C, C), nb, plain.AsSpan(n * stride, stride));
            else PrepareInput(input.Slice(n * C, C), nb, x.AsSpan(n * stride, stride), lanes.AsSpan(n * np * 16, np * 16), e.AsSpan(n * nb, nb),
                offsets.AsSpan(n * nb, nb));
        }
        fixed (float* po = output, pb = bias, pd = weights.Scales, pl = lanes, pe = e, pk = offsets, px = plain)
        fixed (byte* pq = weights.Values)
        fixed (sbyte* pr = x)
            WeightRows.Run(new Rows(pq, pd, pr, pl, pe, pk, nb), po, px, bias.Length != 0 ? pb : null, N, stride, OC);
        ArrayPool<sbyte>.Shared.Return(x);
        ArrayPool<float>.Shared.Return(lanes);
        ArrayPool<float>.Shared.Return(e);
        ArrayPool<float>.Shared.Return(offsets);
        if (plain is not null) ArrayPool<float>.Shared.Return(plain);
    }

    /// <summary>
    /// One input row: rounded as <see cref="Reference.MatmulQ8.QuantizeInput"/> (the same values: the same
    /// float products, rounded to nearest even), written in the weights' layout, with the per-lane scales
    /// of every pair (e of block 2p in even lanes, of 2p+1 in odd ones), the per-block scales, and the
    /// offset term of each paired block (0 for a lone last block, which the kernel takes without the offset).
    /// </summary>
    private static void PrepareInput(ReadOnlySpan<float> row, int nb, Span<sbyte> x, Span<float> lanes, Span<float> e, Span<float> offsets)
    {
        Span<sbyte> r = stackalloc sbyte[Block];
        int C = row.Length;
        for (int b = 0; b < nb; b++)
        {
            int c0 = b * Block, len = Math.Min(Block, C - c0);
            if (Avx512F.IsSupported && (b & 1) == 0 && c0 + Pair <= C)
            {
                PreparePair(row.Slice(c0, Pair), x.Slice(c0, Pair), lanes.Slice(b * 8, 16), e.Slice(b, 2), offsets.Slice(b, 2));
                b++;
                continue;
            }
            var (scale, sum) = RoundBlock(row.Slice(c0, len), r);
            e[b] = scale;
            bool lone = b == nb - 1 && (nb & 1) == 1;
            offsets[b] = lone ? 0f : Offset * scale * sum;
            if (!lone)
                for (int l = b & 1; l < 16; l += 2) lanes[(b >> 1) * 16 + l] = scale;
            for (int k = 0; k < Block; k++) x[Position(c0 + k, nb)] = r[k];
        }
    }

    /// <summary>
    /// One block v (32 values, or fewer at the end of a row) rounded by the reference itself
    /// (<see cref="Reference.MatmulQ8.QuantizeInput"/>) into r[32], zero past v; returns the block's scale and Σr.
    /// </summary>
    private static (float Scale, int Sum) RoundBlock(ReadOnlySpan<float> v, Span<sbyte> r)
    {
        Span<float> scale = stackalloc float[1];
        Reference.MatmulQ8.QuantizeInput(v, r, scale);
        int sum = 0;
        foreach (sbyte q in r) sum += q;
        return (scale[0], sum);
    }

    /// <summary>
    /// One input row for the widened path: the values <see cref="PrepareInput"/> rounds, as fp32 e·r in the weights'
    /// layout (zero past C). Two whole blocks at a time with AVX-512, the same products as the scalar loop. Element by
    /// element (with <see cref="Position"/>, on the calling thread) it had taken ~5 ns a value: a 128x3072x768 matmul
    /// 5.8-6.3 ms against 4.0-4.2 now, gpt2's 128-token q8 prefill 189-202 ms against 158-164 (Zen 4, alternated).
    /// </summary>
    private static void PreparePlain(ReadOnlySpan<float> row, int nb, Span<float> plain)
    {
        Span<sbyte> r = stackalloc sbyte[Block];
        int C = row.Length;
        for (int b = 0; b < nb; b++)
        {
            int c0 = b * Block, len = Math.Min(Block, C - c0);
            if (Avx512F.IsSupported && (b & 1) == 0 && c0 + Pair <= C)
            {
                PlainPair(row.Slice(c0, Pair), plain.Slice(c0, Pair));
                b++;
                continue;
            }
            var (scale, _) = RoundBlock(row.Slice(c0, len), r);
            for (int k = 0; k < Block; k++) plain[Position(c0 + k, nb)] = scale * r[k];
        }
    }

    /// <summary>Two whole blocks as e·r in the pair's layout: group g of block h (four floats) at 8g + 4h.</summary>
    private static void PlainPair(ReadOnlySpan<float> v, Span<float> plain)
    {
        var (r0, r1, r2, r3, e0, e1) = RoundPair(v);
        var s0 = Vector512.Create(e0);
        var s1 = Vector512.Create(e1);
        var f0 = s0 * Vector512.ConvertToSingle(r0); // block 0, groups 0-3
        var f1 = s0 * Vector512.ConvertToSingle(r1); // block 0, groups 4-7
        var f2 = s1 * Vector512.ConvertToSingle(r2); // block 1, groups 0-3
        var f3 = s1 * Vector512.ConvertToSingle(r3); // block 1, groups 4-7
        // Index i < 16 takes lane i of the first operand, 16 + i lane i of the second.
        var low = Vector512.Create(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
        var high = Vector512.Create(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
        Avx512F.PermuteVar16x32x2(f0.AsInt32(), low, f2.AsInt32()).AsSingle().CopyTo(plain);
        Avx512F.PermuteVar16x32x2(f0.AsInt32(), high, f2.AsInt32()).AsSingle().CopyTo(plain.Slice(16));
        Avx512F.PermuteVar16x32x2(f1.AsInt32(), low, f3.AsInt32()).AsSingle().CopyTo(plain.Slice(32));
        Avx512F.PermuteVar16x32x2(f1.AsInt32(), high, f3.AsInt32()).AsSingle().CopyTo(plain.Slice(48));
    }

    /// <summary>
    /// Two whole blocks of the input at once (AVX-512), the same values as the scalar loop: the same
    /// products by the same inverse, rounded to nearest even, and the groups of four interleaved by one
    /// permutation of the 16 packed dwords.
    /// </summary>
    private static void PreparePair(ReadOnlySpan<float> v, Span<sbyte> x, Span<float> lanes, Span<float> e, Span<float> offsets)
    {
        var (r0, r1, r2, r3, s0, s1) = RoundPair(v);
        // Block 0's eight groups of four bytes, then block 1's, as 16 dwords; group g of block h goes to dword 2g + h.
        var packed = Vector512.Create(
            Vector256.Create(Avx512F.ConvertToVector128SByte(r0), Avx512F.ConvertToVector128SByte(r1)),
            Vector256.Create(Avx512F.ConvertToVector128SByte(r2), Avx512F.ConvertToVector128SByte(r3))).AsInt32();
        var order = Vector512.Create(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        Avx512F.PermuteVar16x32(packed, order).AsSByte().CopyTo(x);
        e[0] = s0;
        e[1] = s1;
        offsets[0] = Offset * s0 * Vector512.Sum(r0 + r1);
        offsets[1] = Offset * s1 * Vector512.Sum(r2 + r3);
        for (int l = 0; l < 16; l += 2)
        {
            lanes[l] = s0;
            lanes[l + 1] = s1;
        }
    }

    /// <summary>
    /// Two whole blocks v[64] rounded as the scalar loop does (the same products by the same inverse, to nearest
    /// even): block 0's values in r0 (groups 0-3) and r1 (4-7), block 1's in r2 and r3, and the two scales.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<int>, Vector512<int>, Vector512<int>, Vector512<int>, float, float) RoundPair(ReadOnlySpan<float> v)
    {
        var v0 = Vector512.Create(v);
        var v1 = Vector512.Create(v.Slice(16));
        var v2 = Vector512.Create(v.Slice(32));
        var v3 = Vector512.Create(v.Slice(48));
        float a0 = Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1)).ToScalarMax();
        float a1 = Vector512.Max(Vector512.Abs(v2), Vector512.Abs(v3)).ToScalarMax();
        float inv0 = a0 > 0f ? Reference.MatmulQ8.InputLevels / a0 : 0f, inv1 = a1 > 0f ? Reference.MatmulQ8.InputLevels / a1 : 0f;
        return (Rounded(v0, inv0), Rounded(v1, inv0), Rounded(v2, inv1), Rounded(v3, inv1),
            a0 / Reference.MatmulQ8.InputLevels, a1 / Reference.MatmulQ8.InputLevels);
    }

    private static Vector512<int> Rounded(Vector512<float> v, float inv)
    {
        var levels = Vector512.Create((float)Reference.MatmulQ8.InputLevels);
        return Vector512.ConvertToInt32(Vector512.Clamp(Vector512.Round(v * inv), -levels, levels));
    }

    private static float ToScalarMax(this Vector512<float> v)
    {
        var m = Vector256.MaxNative(v.GetLower(), v.GetUpper());
        var h = Vector128.MaxNative(m.GetLower(), m.GetUpper());
        h = Vector128.MaxNative(h, Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(h[0], h[1]);
    }

    /// <summary>
    /// The 8 int32 sums of four u8·int8 products each in 32 bytes: with AVX-VNNI one vpdpbusd, else vpmaddubsw and
    /// vpmaddwd by ones. The two are equal, as the int16 pair sums cannot saturate (|r| ≤ 64, see
    /// <see cref="Reference.MatmulQ8.InputLevels"/>), so a machine with AVX-VNNI computes the same bits in one op.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Sums256(byte* q, sbyte* x, Vector256<short> ones) => AvxVnni.IsSupported
        ? AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Load(q), Vector256.Load(x))
        : Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Load(q), Vector256.Load(x)), ones);

    private readonly struct Rows(byte* values, float* scales, sbyte* input, float* lanes, float* inputScales, float* offsets, int nb)
        : WeightRows.IRows
    {
        private int Stride => nb * Block;

        public void Widen(int o, float* row)
        {
            byte* q = values + (long)o * Stride;
            float* d = scales + (long)o * nb;
            int np = nb / 2, j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (int p = 0; p < np; p++)
                {
                    // Within a pair, every 4 values alternate between the two blocks.
                    var s = Vector512.Create(Vector256.Create(Vector128.Create(d[2 * p]), Vector128.Create(d[2 * p + 1])),
                        Vector256.Create(Vector128.Create(d[2 * p]), Vector128.Create(d[2 * p + 1])));
                    for (int h = 0; h < Pair; h += 16, j += 16)
                        (Vector512.ConvertToSingle(Avx512F.ConvertToVector512Int32(Vector128.Load(q + j)) - Vector512.Create(Offset)) * s).Store(row + j);
                }
            else if (Avx2.IsSupported)
                for (int p = 0; p < np; p++)
                {
                    // Eight values: four of block 2p, then four of block 2p + 1.
                    var s = Vector256.Create(Vector128.Create(d[2 * p]), Vector128.Create(d[2 * p + 1]));
                    for (int h = 0; h < Pair; h += 8, j += 8)
                        (Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(q + j) - Vector256.Create(Offset)) * s).Store(row + j);
                }
            for (; j < Stride; j++)
            {
                int b = j / Pair < np ? 2 * (j / Pair) + ((j >> 2) & 1) : nb - 1;
                row[j] = d[b] * (q[j] - Offset);
            }
        }

        public float Dot(int o, int n)
        {
            // No calls in here: with one (an un-inlined helper in a tail) the JIT kept the running totals
            // on the stack, and a store-to-load round trip per block made the kernel latency-bound.
            byte* q = values + (long)o * Stride;
            float* d = scales + (long)o * nb;
            sbyte* x = input + (long)n * Stride;
            int np = nb / 2;
            float* l = lanes + (long)n * np * 16;
            float* k = offsets + (long)n * nb;
            float s;
            int p = 0, b = 0;
            if (Avx512BW.IsSupported)
            {
                var ones = Vector512.Create((short)1);
                Vector512<float> t0 = default, t1 = default, t2 = default, t3 = default, off = default;
                for (; p + 4 <= np; p += 4)
                {
                    // Prefetches never fault, so the last rows may ask past the end.
                    Sse.Prefetch0(q + p * Pair + PrefetchAhead);
                    Sse.Prefetch0(q + p * Pair + PrefetchAhead + 64);
                    Sse.Prefetch0(q + p * Pair + PrefetchAhead + 128);
                    Sse.Prefetch0(q + p * Pair + PrefetchAhead + 192);
                    t0 = Pair512(q + p * Pair, x + p * Pair, d + 2 * p, l + p * 16, ones, t0);
                    t1 = Pair512(q + (p + 1) * Pair, x + (p + 1) * Pair, d + 2 * p + 2, l + (p + 1) * 16, ones, t1);
                    t2 = Pair512(q + (p + 2) * Pair, x + (p + 2) * Pair, d + 2 * p + 4, l + (p + 2) * 16, ones, t2);
                    t3 = Pair512(q + (p + 3) * Pair, x + (p + 3) * Pair, d + 2 * p + 6, l + (p + 3) * 16, ones, t3);
                }
                for (; p < np; p++) t0 = Pair512(q + p * Pair, x + p * Pair, d + 2 * p, l + p * 16, ones, t0);
                for (; b + 16 <= nb; b += 16) off = Vector512.FusedMultiplyAdd(Vector512.Load(d + b), Vector512.Load(k + b), off);
                s = Vector512.Sum((t0 + t1) + (t2 + t3) - off);
            }
            else if (Avx2.IsSupported)
            {
                // A pair is two ymm: bytes 0-31 (groups 0-3 of both blocks) and 32-63, lanes alternating as above.
                var ones = Vector256.Create((short)1);
                Vector256<float> t0 = default, t1 = default;
                for (; p < np; p++)
                {
                    byte* qp = q + p * Pair;
                    sbyte* xp = x + p * Pair;
                    var dd = Vector256.Create(*(double*)(d + 2 * p)).AsSingle();
                    var lo = Sums256(qp, xp, ones);
                    var hi = Sums256(qp + 32, xp + 32, ones);
                    t0 = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(lo), dd * Vector256.Load(l + p * 16), t0);
                    t1 = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(hi), dd * Vector256.Load(l + p * 16 + 8), t1);
                }
                s = Vector256.Sum(t0 + t1);
            }
            else
            {
                s = 0f;
                for (; p < np; p++)
                    for (int j = 0; j < Pair; j++) s += d[2 * p + ((j >> 2) & 1)] * l[p * 16 + ((j >> 2) & 1)] * (q[p * Pair + j] * x[p * Pair + j]);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                // The blocks' offsets left, eight at a time: taken one by one, the 24 of a 768-wide row were a
                // chain of dependent subtractions longer than the pairs' loop itself (AVX2 on Zen 3: q8 decoding
                // 2.07-2.37x -> 2.66-3.01x fp32's tokens/s). With AVX-512 this takes the 8 the 16-wide loop leaves.
                Vector256<float> off8 = default;
                for (; b + 8 <= nb; b += 8) off8 = Vector256.FusedMultiplyAdd(Vector256.Load(d + b), Vector256.Load(k + b), off8);
                s -= Vector256.Sum(off8);
            }
            for (; b < nb; b++) s -= d[b] * k[b];
            if ((nb & 1) == 1)
            {
                // The lone last block, without the offset.
                int last = nb - 1, dot = 0;
                for (int j = last * Block; j < nb * Block; j++) dot += (q[j] - Offset) * x[j];
                s += d[last] * inputScales[(long)n * nb + last] * dot;
            }
            return s;
        }

        /// <summary>acc + the 16 lane sums of one pair of blocks times their scales.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Pair512(byte* q, sbyte* x, float* d, float* lanes, Vector512<short> ones, Vector512<float> acc)
        {
            var sums = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(q), Vector512.Load(x)), ones);
            return Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sums), Vector512.Create(*(double*)d).AsSingle() * Vector512.Load(lanes), acc);
        }
    }
}
