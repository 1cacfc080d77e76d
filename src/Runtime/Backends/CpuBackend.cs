using K = Hyper.Kernels.Cpu;

namespace Hyper.Runtime.Backends;

/// <summary>
/// The fast CPU backend: SIMD kernels (Vector512/Vector256 with FMA) on every core. Kernel lab:
/// matmul (forward and backward) runs naive, tiled or blocked (the packed GEMM), attention's forward
/// naive or flash; the defaults (blocked, flash) are the fast paths.
/// </summary>
public sealed class CpuBackend : HostBackend, IKernelVariants, IHyperAttentionBackend, ILowPrecisionBackend
{
    // The packed copy of each weight view multiplied by since Weights was set (see ILowPrecisionBackend):
    // a Bf16Copy or a q8 Packed, in the arena of the view's buffer.
    private readonly Dictionary<TensorView, object> _packed = new();
    private readonly Dictionary<DeviceBuffer, PackedArena> _arenas = new(ReferenceEqualityComparer.Instance);
    // The views among them whose copy came from a checkpoint (KeepBf16, KeepQ8): their floats were never written.
    private readonly HashSet<TensorView> _packedOnly = new();
    private Kernels.WeightFormat _weights;

    /// <summary>Every op has a kernel here: the host ops and HyperAttention.</summary>
    internal static readonly HashSet<Op> Native = [.. HostOps, Op.HyperAttention, Op.HyperAttentionKv];

    private static readonly string[] MatmulVariants = ["naive", "tiled", "blocked"];
    private static readonly string[] AttentionVariants = ["naive", "flash"];
    private K.MatmulVariant _matmul = K.MatmulVariant.Blocked;
    private K.AttentionVariant _attention = K.AttentionVariant.Flash;

    /// <inheritdoc />
    public override string Name => "cpu";

    /// <inheritdoc />
    public override string Description =>
        $"{Environment.ProcessorCount} logical cores, " +
        (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "Vector512 (AVX-512)" :
         System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "Vector256 (AVX2)" : "scalar") +
        $", {K.CpuParallel.Threads} kernel threads";

    /// <inheritdoc />
    public override bool Supports(Op op) => Native.Contains(op);

    /// <inheritdoc />
    public override double SumOfSquares(TensorView view) => K.Reduce.SumOfSquares(S(view));

    /// <inheritdoc />
    public override void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
        => K.Encoder.Forward(S(output), tokens, S(wte), S(wpe), B, T, C);

    /// <inheritdoc />
    public override void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C)
        => K.Encoder.Backward(S(dwte), S(dwpe), S(dout), tokens, B, T, C);

    /// <inheritdoc />
    public override void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps)
        => K.LayerNorm.Forward(S(output), S(mean), S(rstd), S(input), S(weight), S(bias), N, C, eps);

    /// <inheritdoc />
    public override void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C)
        => K.LayerNorm.Backward(S(dinp), S(dweight), S(dbias), S(dout), S(input), S(weight), S(mean), S(rstd), N, C);

    /// <inheritdoc />
    public override void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        if (_weights != Kernels.WeightFormat.F32)
        {
            MatmulPacked(output, input, weight, bias, N, C, OC);
            return;
        }
        // The default keeps its matrix-vector path for a few rows (decoding); the lab's picks run as named.
        if (_matmul == K.MatmulVariant.Blocked) K.Matmul.Forward(S(output), S(input), S(weight), S(bias), N, C, OC);
        else K.Matmul.Forward(_matmul, S(output), S(input), S(weight), S(bias), N, C, OC);
    }

    /// <inheritdoc />
    public IReadOnlyList<Kernels.WeightFormat> WeightFormats { get; } = [Kernels.WeightFormat.Bf16, Kernels.WeightFormat.Q8];

    /// <inheritdoc />
    public bool IsNative(Kernels.WeightFormat format) => true;

    /// <inheritdoc />
    public Kernels.WeightFormat Weights
    {
        get => _weights;
        set
        {
            if (value == _weights) return;
            if (LivePackedOnly.Any())
                throw new InvalidOperationException($"cannot switch the cpu backend's weights from {LowPrecision.Name(_weights)} to {LowPrecision.Name(value)}: " +
                    $"a model on it was loaded from its checkpoint straight into {LowPrecision.Name(_weights)} copies only, and its fp32 parameters do not " +
                    "hold them (load it again in that format)");
            _packed.Clear();
            _packedOnly.Clear();
            foreach (var arena in _arenas.Values) arena.Dispose();
            _arenas.Clear();
            _weights = value;
        }
    }

    /// <summary>The cpu backend behind <paramref name="backend"/> (itself, or the one a <see cref="ProfilingBackend"/> times), or null.</summary>
    public static CpuBackend? Of(IBackend backend) => backend as CpuBackend ?? (backend as ProfilingBackend)?.Inner as CpuBackend;

    /// <summary>
    /// The bf16 copy of <paramref name="weight"/> for a checkpoint's BF16 tensor to be read into (as long as the
    /// view; its first <paramref name="stored"/> values are the reader's to fill, the rest, pad rows, zeroed here:
    /// clearing it all first was one more pass over every page at load), and the view stays unwritten: <see cref="Kernels.Reference.MatmulBf16.Pack(ReadOnlySpan{float})"/>
    /// of its widened floats would give the same bits (round to nearest even of a bf16 value is that value),
    /// so the products are the ones packing would give, without the fp32 copy ever existing. From then on
    /// the view's floats are zeros, not the weights (<see cref="HoldsPackedOnly"/>). Needs <see cref="Weights"/> bf16.
    /// </summary>
    public Span<ushort> KeepBf16(TensorView weight, long stored)
    {
        if (_weights != Kernels.WeightFormat.Bf16)
            throw new InvalidOperationException($"the cpu backend reads {LowPrecision.Name(_weights)} weights; bf16 copies are kept only while it reads bf16");
        _ = S(weight); // checks the view without touching its pages
        var copy = NewBf16(weight);
        if (stored < 0 || stored > copy.Span.Length)
            throw new ArgumentOutOfRangeException(nameof(stored), $"{stored} stored values do not fit a copy of {copy.Span.Length}");
        copy.Span[(int)stored..].Clear();
        _packed[weight] = copy;
        _packedOnly.Add(weight);
        return copy.Span;
    }

    /// <summary>
    /// Makes the q8 copy of <paramref name="weight"/> [OC, C] from <paramref name="floats"/> (as long as the view: a
    /// checkpoint's tensor read into a scratch, pad rows zero), and the view stays unwritten: the bytes are those
    /// packing the view's floats would give, so a model loaded this way multiplies as one loaded in fp32 and then
    /// packed, without the fp32 matmul weights ever being resident (<see cref="HoldsPackedOnly"/>). Needs <see cref="Weights"/> q8.
    /// </summary>
    public void KeepQ8(TensorView weight, ReadOnlySpan<float> floats, int C)
    {
        if (_weights != Kernels.WeightFormat.Q8)
            throw new InvalidOperationException($"the cpu backend reads {LowPrecision.Name(_weights)} weights; q8 copies are kept only while it reads q8");
        _ = S(weight); // checks the view without touching its pages
        if (floats.Length != weight.Length || C <= 0 || weight.Length % C != 0)
            throw new ArgumentException($"q8 copy of a view of {weight.Length} floats from {floats.Length} floats in rows of {C}");
        _packed[weight] = PackQ8(weight, floats, C, checked((int)(weight.Length / C)));
        _packedOnly.Add(weight);
    }

    /// <summary>The q8 copy of <paramref name="weight"/> [OC, C] from <paramref name="floats"/>, in the arena of the view's buffer.</summary>
    private unsafe K.MatmulQ8.Packed PackQ8(TensorView weight, ReadOnlySpan<float> floats, int C, int OC)
    {
        var arena = Arena(weight);
        return K.MatmulQ8.PackInto(floats, C, OC, arena.Take<byte>(K.MatmulQ8.ValueBytes(C, OC)), arena.Take<float>(K.MatmulQ8.ScaleBytes(C, OC) / sizeof(float)));
    }

    /// <summary>Whether views of <paramref name="buffer"/> hold matmul weights only as packed copies (<see cref="KeepBf16"/>, <see cref="KeepQ8"/>).</summary>
    public bool HoldsPackedOnly(DeviceBuffer buffer) => LivePackedOnly.Any(v => ReferenceEquals(v.Buffer, buffer));

    /// <summary>The matmul weights held only as packed copies, in floats.</summary>
    public long PackedOnlyFloats => LivePackedOnly.Sum(v => v.Length);

    // A disposed model's views no longer matter: nothing can read its arena.
    private IEnumerable<TensorView> LivePackedOnly => _packedOnly.Where(v => !Disposed(v.Buffer));

    /// <inheritdoc />
    public long PackedBytes => _packed.Values.Sum(p => p switch
    {
        Bf16Copy h => 2L * h.Length,
        K.MatmulQ8.Packed q => q.Bytes,
        _ => 0L,
    });

    /// <inheritdoc />
    public long PackedFloats => _packed.Keys.Sum(k => k.Length);

    /// <summary>Bytes handed out by the arenas not yet freed (a disposed model's goes at the next packing).</summary>
    internal long ArenaBytes => _arenas.Values.Sum(a => a.Used);

    private static bool Disposed(DeviceBuffer buffer) => buffer is HostBuffer { IsDisposed: true };

    /// <summary>A bf16 copy of a weight view, in its buffer's arena (valid while the arena lives).</summary>
    private sealed unsafe class Bf16Copy(ushort* at, int length)
    {
        public int Length => length;
        public Span<ushort> Span => new(at, length);
    }

    private unsafe Bf16Copy NewBf16(TensorView weight) => new(Arena(weight).Take<ushort>(weight.Length), checked((int)weight.Length));

    /// <summary>
    /// The arena for copies of <paramref name="weight"/>'s buffer. Arenas of buffers disposed since (a model
    /// that was let go) are freed first, with their copies: a process that loads model after model (eval-gen)
    /// holds only the live ones'.
    /// </summary>
    private PackedArena Arena(TensorView weight)
    {
        foreach (var gone in _arenas.Keys.Where(Disposed).ToList())
        {
            foreach (var view in _packed.Keys.Where(v => ReferenceEquals(v.Buffer, gone)).ToList()) _packed.Remove(view);
            _packedOnly.RemoveWhere(v => ReferenceEquals(v.Buffer, gone));
            _arenas.Remove(gone, out var arena);
            arena!.Dispose();
        }
        if (!_arenas.TryGetValue(weight.Buffer, out var mine)) _arenas[weight.Buffer] = mine = new PackedArena();
        return mine;
    }

    private unsafe void MatmulPacked(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        if (!_packed.TryGetValue(weight, out var packed))
        {
            // S() checks the view; the shape check against N, C, OC happens in the kernel.
            var floats = S(weight);
            if (_weights == Kernels.WeightFormat.Bf16)
            {
                var copy = NewBf16(weight);
                Kernels.Reference.MatmulBf16.Pack(floats, copy.Span);
                packed = copy;
            }
            else packed = PackQ8(weight, floats, C, OC);
            _packed[weight] = packed;
        }
        if (packed is Bf16Copy h) K.MatmulBf16.Forward(S(output), S(input), h.Span, S(bias), N, C, OC);
        else K.MatmulQ8.Forward(S(output), S(input), (K.MatmulQ8.Packed)packed, S(bias), N);
    }

    /// <inheritdoc />
    public override void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC)
        => K.Matmul.Backward(_matmul, S(dinp), S(dweight), S(dbias), S(dout), S(input), S(weight), N, C, OC);

    /// <inheritdoc />
    public override void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal)
        => K.Attention.Forward(_attention, S(output), S(lse), S(qkv), B, T, C, NH, causal);

    /// <inheritdoc />
    public override void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal)
        => K.Attention.Backward(S(dqkv), S(dout), S(qkv), S(output), S(lse), B, T, C, NH, causal);

    /// <inheritdoc />
    public override void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH)
        => K.Attention.KvForward(S(output), S(kCache), S(vCache), S(qkv), B, Tq, pos, maxT, C, NH);

    /// <inheritdoc />
    public override void GeluForward(TensorView output, TensorView input, int N) => K.Gelu.Forward(S(output), S(input), N);

    /// <inheritdoc />
    public override void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N) => K.Gelu.Backward(S(dinp), S(input), S(dout), N);

    /// <inheritdoc />
    public override void LeakyReluForward(TensorView output, TensorView input, float slope, int N) => K.LeakyRelu.Forward(S(output), S(input), slope, N);

    /// <inheritdoc />
    public override void LeakyReluBackward(TensorView dinp, TensorView input, TensorView dout, float slope, int N)
        => K.LeakyRelu.Backward(S(dinp), S(input), S(dout), slope, N);

    /// <inheritdoc />
    public override void ResidualForward(TensorView output, TensorView a, TensorView b, int N) => K.Residual.Forward(S(output), S(a), S(b), N);

    /// <inheritdoc />
    public override void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N) => K.Residual.Backward(S(da), S(db), S(dout), N);

    /// <inheritdoc />
    public override void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp)
        => K.SoftmaxCrossEntropy.Forward(S(losses), S(probs), S(logits), targets, N, V, Vp);

    /// <inheritdoc />
    public override void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp)
        => K.SoftmaxCrossEntropy.Backward(S(dlogits), S(probs), targets, dloss, N, V, Vp);

    /// <inheritdoc />
    public override void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
        => K.AdamW.Update(S(parameters), S(m), S(v), S(grads), lr, beta1, beta2, eps, weightDecay, step, gradScale);

    /// <inheritdoc />
    public override void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
        => K.RmsNorm.Forward(S(output), S(rstd), S(input), S(weight), N, C, eps);

    /// <inheritdoc />
    public override void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
        => K.RmsNorm.Backward(S(dinp), S(dweight), S(dout), S(input), S(weight), S(rstd), N, C);

    /// <inheritdoc />
    public override void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
        => K.Rope.Forward(S(output), S(input), S(cos), S(sin), B, T, H, hs, pos0);

    /// <inheritdoc />
    public override void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
        => K.Rope.Backward(S(dinp), S(dout), S(cos), S(sin), B, T, H, hs, pos0);

    /// <inheritdoc />
    public override void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N) => K.SwiGlu.Forward(S(output), S(gate), S(up), N);

    /// <inheritdoc />
    public override void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
        => K.SwiGlu.Backward(S(dgate), S(dup), S(dout), S(gate), S(up), N);

    /// <inheritdoc />
    public override void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
        => K.GroupedQueryAttention.Forward(S(output), S(lse), S(q), S(k), S(v), B, T, NH, NKV, hs);

    /// <inheritdoc />
    public override void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
        => K.GroupedQueryAttention.Backward(S(dq), S(dk), S(dv), S(dout), S(q), S(k), S(v), S(output), S(lse), B, T, NH, NKV, hs);

    /// <inheritdoc />
    public override void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
        => K.GroupedQueryAttention.KvForward(S(output), S(kCache), S(vCache), S(q), S(k), S(v), B, Tq, pos, maxT, NH, NKV, hs);

    /// <inheritdoc />
    public void HyperAttentionForward(TensorView output, TensorView lse, TensorView qkv, Hyper.Kernels.Reference.HyperAttentionPlan plan, int B, int T, int C, int NH)
        => K.HyperAttention.Forward(S(output), S(lse), S(qkv), plan, B, T, C, NH);

    /// <inheritdoc />
    public void HyperAttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, Hyper.Kernels.Reference.HyperAttentionPlan plan, int B, int T, int C, int NH)
        => K.HyperAttention.Backward(S(dqkv), S(dout), S(qkv), S(output), S(lse), plan, B, T, C, NH);

    /// <inheritdoc />
    public void HyperAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, Hyper.Kernels.Reference.HyperAttentionKvState state, int B, int Tq, int pos, int maxT, int C, int NH)
        => K.HyperAttentionKv.Forward(S(output), S(kCache), S(vCache), S(qkv), state, B, Tq, pos, maxT, C, NH);

    /// <inheritdoc />
    public IReadOnlyList<string> VariantsOf(Op op) => op switch
    {
        Op.Matmul => MatmulVariants,
        Op.Attention => AttentionVariants,
        _ => [],
    };

    /// <inheritdoc />
    public string VariantOf(Op op) => op switch
    {
        Op.Matmul => MatmulVariants[(int)_matmul],
        Op.Attention => AttentionVariants[(int)_attention],
        _ => "default",
    };

    /// <inheritdoc />
    public void UseVariant(Op op, string variant)
    {
        int index = VariantsOf(op).ToList().IndexOf(variant);
        if (index < 0)
            throw new ArgumentException($"cpu has no {op} variant '{variant}' (known: {(VariantsOf(op).Count > 0 ? string.Join(", ", VariantsOf(op)) : "none")})");
        if (op == Op.Matmul) _matmul = (K.MatmulVariant)index;
        else _attention = (K.AttentionVariant)index;
    }
}
