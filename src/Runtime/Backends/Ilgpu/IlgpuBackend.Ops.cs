using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

// The ops: shape checks on the host (a kernel reading past a view would not fail, it would read
// a neighbour's floats), then one or a few kernel launches. Zero-sized ops launch nothing.
public sealed partial class IlgpuBackend
{
    // Dynamic shared memory every CUDA device grants a group without opting in; the attention
    // kernels' rows per group are lowered until their tiles fit.
    private const int SharedBytes = 48 * 1024;

    private static readonly string[] MatmulVariants = ["naive", "tiled", "blocked"];
    private string _matmulVariant;

    /// <summary>
    /// On CUDA the three matmul kernels. On the CPU accelerator only the naive one: the tiled and
    /// blocked kernels meet a barrier per tile, which there costs about 28 ms for a group of 256
    /// host threads, so one product of 70×130×97 takes 5-10 s; they are correct (the tests run them
    /// through <see cref="UseKernel"/> on small shapes) but there is nothing to time on a simulator.
    /// </summary>
    public IReadOnlyList<string> VariantsOf(Op op) => op != Op.Matmul ? [] : _cuda ? MatmulVariants : MatmulVariants[..1];

    /// <inheritdoc />
    public string VariantOf(Op op) => op == Op.Matmul ? _matmulVariant : "default";

    /// <inheritdoc />
    public void UseVariant(Op op, string variant)
    {
        if (!VariantsOf(op).Contains(variant))
            throw new ArgumentException($"ilgpu has no {op} variant '{variant}' here (offered: {string.Join(", ", VariantsOf(op))})", nameof(variant));
        _matmulVariant = variant;
    }

    /// <summary>Selects any of the matmul kernels, also those not offered on the CPU accelerator (tests).</summary>
    internal void UseKernel(Op op, string variant)
    {
        if (op != Op.Matmul || !MatmulVariants.Contains(variant))
            throw new ArgumentException($"ilgpu has no {op} kernel '{variant}'", nameof(variant));
        _matmulVariant = variant;
    }

    /// <inheritdoc />
    public void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
    {
        Expect(output, (long)B * T * C, nameof(output), "encoder");
        CheckTokens(tokens, B * T, (int)(wte.Length / C));
        if (B * T * C == 0) return;
        _kernels.EncoderForward(Spread(B * T * C), V(output), UploadInts(tokens[..(B * T)]), V(wte), V(wpe), T, C);
    }

    /// <inheritdoc />
    public void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C)
    {
        Expect(dout, (long)B * T * C, nameof(dout), "encoder");
        CheckTokens(tokens, B * T, (int)(dwte.Length / C));
        if (B * T * C == 0) return;
        _kernels.EncoderBackwardWte(Spread(B * T * C), V(dwte), V(dout), UploadInts(tokens[..(B * T)]), C);
        _kernels.EncoderBackwardWpe(Spread(T * C), V(dwpe), V(dout), B, T, C);
    }

    /// <inheritdoc />
    public void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps)
    {
        Expect(output, (long)N * C, nameof(output), "layernorm");
        Expect(input, (long)N * C, nameof(input), "layernorm");
        Expect(mean, N, nameof(mean), "layernorm");
        Expect(weight, C, nameof(weight), "layernorm");
        if (N == 0 || C == 0) return;
        _kernels.LayerNormForward(new KernelConfig(N, _rowGroup), V(output), V(mean), V(rstd), V(input), V(weight), V(bias), C, eps);
    }

    /// <inheritdoc />
    public void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C)
    {
        Expect(dinp, (long)N * C, nameof(dinp), "layernorm");
        Expect(dout, (long)N * C, nameof(dout), "layernorm");
        Expect(dweight, C, nameof(dweight), "layernorm");
        if (N == 0 || C == 0) return;
        _kernels.LayerNormBackwardInput(new KernelConfig(N, _rowGroup), V(dinp), V(dout), V(input), V(weight), V(mean), V(rstd), C);
        _kernels.LayerNormBackwardParameters(Spread(C), V(dweight), V(dbias), V(dout), V(input), V(mean), V(rstd), N, C);
    }

    /// <inheritdoc />
    public void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        Expect(output, (long)N * OC, nameof(output), "matmul");
        Expect(input, (long)N * C, nameof(input), "matmul");
        Expect(weight, (long)OC * C, nameof(weight), "matmul");
        if (!bias.IsEmpty) Expect(bias, OC, nameof(bias), "matmul");
        if (ReadsPackedWeights)
        {
            MatmulPacked(output, input, weight, bias, N, C, OC);
            return;
        }
        Gemm(output, input, weight, bias, GemmShape.Forward(N, C, OC, !bias.IsEmpty));
    }

    /// <inheritdoc />
    public void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC)
    {
        if (!dinp.IsEmpty) Expect(dinp, (long)N * C, nameof(dinp), "matmul");
        Expect(dweight, (long)OC * C, nameof(dweight), "matmul");
        if (!dbias.IsEmpty) Expect(dbias, OC, nameof(dbias), "matmul");
        Expect(dout, (long)N * OC, nameof(dout), "matmul");
        Expect(input, (long)N * C, nameof(input), "matmul");
        Expect(weight, (long)OC * C, nameof(weight), "matmul");
        if (!dinp.IsEmpty) Gemm(dinp, dout, weight, TensorView.Empty, GemmShape.BackwardInput(N, C, OC));
        Gemm(dweight, dout, input, TensorView.Empty, GemmShape.BackwardWeight(N, C, OC));
        if (!dbias.IsEmpty && OC > 0) _kernels.MatmulBackwardBias(Spread(OC), V(dbias), V(dout), N, OC);
    }

    /// <summary>out (+)= A·B (+ bias) with the variant in use.</summary>
    private void Gemm(TensorView output, TensorView a, TensorView b, TensorView bias, GemmShape s)
    {
        if (s.M == 0 || s.N == 0) return;
        var group = new Index2D(K.Matmul.Tile, K.Matmul.Tile);
        switch (_matmulVariant)
        {
            case "naive":
                _kernels.MatmulNaive(Spread(s.M * s.N), V(output), V(a), V(b), V(bias), s);
                break;
            case "tiled":
                _kernels.MatmulTiled(new KernelConfig(new Index2D(Groups(s.N, K.Matmul.Tile), Groups(s.M, K.Matmul.Tile)), group),
                    V(output), V(a), V(b), V(bias), s);
                break;
            default:
                _kernels.MatmulBlocked(new KernelConfig(new Index2D(Groups(s.N, K.Matmul.Block), Groups(s.M, K.Matmul.Block)), group),
                    V(output), V(a), V(b), V(bias), s);
                break;
        }
    }

    /// <inheritdoc />
    public void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal)
    {
        CheckAttention(output, lse, qkv, B, T, C, NH);
        if (B * T == 0) return;
        var s = AttentionShape.SelfAttention(T, C, NH, causal);
        var q = Dense(qkv);
        LaunchForward(V(output), V(lse), q, q.SubView(C, q.Length - C), q.SubView(2 * C, q.Length - 2 * C), s, B);
    }

    /// <inheritdoc />
    public void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal)
    {
        CheckAttention(output, lse, qkv, B, T, C, NH);
        Expect(dqkv, (long)B * T * 3 * C, nameof(dqkv), "attention");
        Expect(dout, (long)B * T * C, nameof(dout), "attention");
        if (B * T == 0) return;
        var s = AttentionShape.SelfAttention(T, C, NH, causal);
        int rows = B * NH * T;
        var delta = Grow(ref _delta, rows).View.SubView(0, rows);
        _kernels.AttentionBackwardDelta(Spread(rows), delta, V(dout), V(output), s);
        var q = Dense(qkv);
        var d = Dense(dqkv);
        ArrayView<float> k = q.SubView(C, q.Length - C), v = q.SubView(2 * C, q.Length - 2 * C);
        int br = BlockRows(s.HeadSize, K.Attention.BackwardKeysSharedFloats);
        _kernels.AttentionBackwardKeys(Config(Groups(T, br), B * NH, br, K.Attention.BackwardKeysSharedFloats(br, s.HeadSize)),
            d.SubView(C, d.Length - C), d.SubView(2 * C, d.Length - 2 * C), V(dout), q, k, v, V(lse), delta, s);
        br = BlockRows(s.HeadSize, K.Attention.BackwardQueriesSharedFloats);
        _kernels.AttentionBackwardQueries(Config(Groups(T, br), B * NH, br, K.Attention.BackwardQueriesSharedFloats(br, s.HeadSize)),
            d, V(dout), q, k, v, V(lse), delta, s);
    }

    /// <inheritdoc />
    public void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH)
    {
        if (B < 0 || Tq < 0 || pos < 0 || C <= 0 || NH <= 0 || C % NH != 0)
            throw new ArgumentOutOfRangeException(nameof(B), $"attention (kv): bad dimensions (B={B}, Tq={Tq}, pos={pos}, maxT={maxT}, C={C}, NH={NH})");
        if ((long)pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos), $"attention (kv): tokens {pos}..{pos + Tq - 1} do not fit a cache of {maxT} positions");
        Expect(output, (long)B * Tq * C, nameof(output), "attention (kv)");
        Expect(kCache, (long)B * maxT * C, nameof(kCache), "attention (kv)");
        Expect(vCache, (long)B * maxT * C, nameof(vCache), "attention (kv)");
        Expect(qkv, (long)B * Tq * 3 * C, nameof(qkv), "attention (kv)");
        if (B * Tq == 0) return;
        _kernels.AttentionAppendKv(Spread(B * Tq * C), V(kCache), V(vCache), V(qkv), Tq, pos, maxT, C);
        LaunchForward(V(output), _dummy.View, V(qkv), V(kCache), V(vCache), AttentionShape.KvCache(Tq, pos, maxT, C, NH), B);
    }

    private void LaunchForward(ArrayView<float> output, ArrayView<float> lse, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, AttentionShape s, int B)
    {
        int br = BlockRows(s.HeadSize, K.Attention.ForwardSharedFloats);
        _kernels.AttentionForward(Config(Groups(s.Rows, br), B * s.Heads, br, K.Attention.ForwardSharedFloats(br, s.HeadSize)), output, lse, q, k, v, s);
    }

    /// <summary>Rows per attention group: the largest power of two up to the device's bound whose tiles fit the shared memory.</summary>
    private int BlockRows(int hs, Func<int, int, int> sharedFloats)
    {
        int br = _attentionRows;
        while (br > 1 && sharedFloats(br, hs) * sizeof(float) > SharedBytes) br /= 2;
        if (sharedFloats(br, hs) * sizeof(float) > SharedBytes)
            throw new NotSupportedException($"attention: a head of {hs} channels does not fit the ilgpu kernels' shared memory");
        return br;
    }

    /// <summary>
    /// The launch of a grid-stride kernel over n elements: on CUDA enough groups of 256 to fill
    /// the device (each thread then takes a few elements); on the CPU accelerator two groups of
    /// two threads, since every group and thread launched there is a host-thread hand-off.
    /// </summary>
    private KernelConfig Spread(int n)
        => _cuda ? new KernelConfig(Math.Clamp(Groups(n, 256), 1, 16 * 1024), 256) : new KernelConfig(2, 2);

    private static KernelConfig Config(int groupsX, int groupsY, int groupSize, int sharedFloats)
        => new(new Index2D(groupsX, groupsY), new Index2D(groupSize, 1), SharedMemoryConfig.RequestDynamic<float>(sharedFloats));

    /// <inheritdoc />
    public void GeluForward(TensorView output, TensorView input, int N)
    {
        Expect(output, N, nameof(output), "gelu");
        Expect(input, N, nameof(input), "gelu");
        if (N > 0) _kernels.GeluForward(Spread(N), V(output), V(input));
    }

    /// <inheritdoc />
    public void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N)
    {
        Expect(dinp, N, nameof(dinp), "gelu");
        Expect(input, N, nameof(input), "gelu");
        Expect(dout, N, nameof(dout), "gelu");
        if (N > 0) _kernels.GeluBackward(Spread(N), V(dinp), V(input), V(dout));
    }

    /// <inheritdoc />
    public void ResidualForward(TensorView output, TensorView a, TensorView b, int N)
    {
        Expect(output, N, nameof(output), "residual");
        Expect(a, N, nameof(a), "residual");
        Expect(b, N, nameof(b), "residual");
        if (N > 0) _kernels.ResidualForward(Spread(N), V(output), V(a), V(b));
    }

    /// <inheritdoc />
    public void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N)
    {
        Expect(da, N, nameof(da), "residual");
        Expect(db, N, nameof(db), "residual");
        Expect(dout, N, nameof(dout), "residual");
        if (N > 0) _kernels.ResidualBackward(Spread(N), V(da), V(db), V(dout));
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        Expect(losses, N, nameof(losses), "softmax");
        Expect(probs, (long)N * Vp, nameof(probs), "softmax");
        Expect(logits, (long)N * Vp, nameof(logits), "softmax");
        CheckTargets(targets, N, V, Vp);
        if (N == 0 || V == 0) return;
        _kernels.SoftmaxCrossEntropyForward(new KernelConfig(N, _rowGroup), this.V(losses), this.V(probs), this.V(logits), UploadInts(targets[..N]), V, Vp);
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp)
    {
        Expect(dlogits, (long)N * Vp, nameof(dlogits), "softmax");
        Expect(probs, (long)N * Vp, nameof(probs), "softmax");
        CheckTargets(targets, N, V, Vp);
        if (N == 0 || V == 0) return;
        _kernels.SoftmaxCrossEntropyBackward(Spread(N * Vp), this.V(dlogits), this.V(probs), UploadInts(targets[..N]), dloss, V, Vp);
    }

    /// <inheritdoc />
    public void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        Expect(m, parameters.Length, nameof(m), "adamw");
        Expect(v, parameters.Length, nameof(v), "adamw");
        Expect(grads, parameters.Length, nameof(grads), "adamw");
        if (parameters.IsEmpty) return;
        // Bias corrections in double, rounded to float, exactly as the reference computes them.
        var args = new AdamWStep(lr, beta1, beta2, eps, weightDecay,
            (float)(1 - Math.Pow(beta1, step)), (float)(1 - Math.Pow(beta2, step)), gradScale);
        _kernels.AdamW(Spread(checked((int)parameters.Length)), V(parameters), V(m), V(v), V(grads), args);
    }

    private static void CheckAttention(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH)
    {
        if (B < 0 || T < 0 || C <= 0 || NH <= 0 || C % NH != 0)
            throw new ArgumentOutOfRangeException(nameof(B), $"attention: bad dimensions (B={B}, T={T}, C={C}, NH={NH})");
        Expect(output, (long)B * T * C, nameof(output), "attention");
        Expect(lse, (long)B * NH * T, nameof(lse), "attention");
        Expect(qkv, (long)B * T * 3 * C, nameof(qkv), "attention");
    }

    private static void CheckTokens(ReadOnlySpan<int> tokens, int count, int V)
    {
        if (tokens.Length < count) throw new ArgumentException($"encoder: {tokens.Length} tokens for {count} positions", nameof(tokens));
        foreach (int token in tokens[..count])
        {
            ArgumentOutOfRangeException.ThrowIfNegative(token, nameof(tokens));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, V, nameof(tokens));
        }
    }

    private static void CheckTargets(ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Vp, V, nameof(Vp));
        if (targets.Length < N) throw new ArgumentException($"softmax: {targets.Length} targets for {N} rows", nameof(targets));
        foreach (int target in targets[..N]) ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(target, V, nameof(targets));
    }
}
