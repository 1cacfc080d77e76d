namespace Hyper.Runtime.Backends.OpenCl;

/// <summary>
/// The op set as hand-written OpenCL C 1.2 kernels (Kernels/*.cl) on any OpenCL device: the first
/// GPU, else the first device, or the one HYPER_OPENCL_DEVICE=N names. Ops are queued in order
/// and run asynchronously; <see cref="Download"/> and <see cref="SumOfSquares"/> wait for them.
/// Shapes are checked on the host before anything is queued, since a kernel cannot fail loudly.
/// </summary>
public sealed partial class OpenClBackend : IBackend, IKernelVariants, IPackedWeightsBackend
{
    /// <summary>Largest head size the attention kernels hold in private memory (MAX_HS in attention.cl).</summary>
    public const int MaxHeadSize = 128;

    private const int AttentionRows = 32;       // ATT_BQ in attention.cl
    private const int MatmulTile = 16;          // TS in matmul.cl
    private const int MatmulBlock = 64;         // RB in matmul.cl
    private static readonly string[] MatmulVariants = ["naive", "tiled", "blocked"];

    /// <summary>
    /// The ops with a kernel here. The rest run on <see cref="IBackend"/>'s reference default
    /// (<see cref="ReferenceFallback"/>), except HyperAttention, which does not run here.
    /// </summary>
    internal static readonly HashSet<Op> Native =
    [
        Op.Encoder, Op.LayerNorm, Op.Matmul, Op.Attention, Op.AttentionKv, Op.Gelu, Op.Residual,
        Op.SoftmaxCrossEntropy, Op.AdamW,
        Op.RmsNorm, Op.Rope, Op.SwiGlu, Op.GroupedQueryAttention, Op.GroupedQueryAttentionKv,
    ];

    private readonly OpenClDevice _device;
    private string _matmul = "blocked";
    private OpenClBuffer? _scratch;

    /// <summary>Opens the device and builds the kernels; throws <see cref="BackendUnavailableException"/> where OpenCL or a device is missing.</summary>
    public OpenClBackend() => _device = new OpenClDevice();

    /// <inheritdoc />
    public string Name => "opencl";

    /// <inheritdoc />
    public string Description => _device.Description;

    /// <inheritdoc />
    public bool Supports(Op op) => Native.Contains(op);

    /// <inheritdoc />
    public IReadOnlyList<string> VariantsOf(Op op) => op == Op.Matmul ? MatmulVariants : [];

    /// <inheritdoc />
    public string VariantOf(Op op) => op == Op.Matmul ? _matmul : "";

    /// <inheritdoc />
    public void UseVariant(Op op, string variant)
    {
        if (!VariantsOf(op).Contains(variant))
            throw new ArgumentException($"opencl has no {op} variant '{variant}' (known: {string.Join(", ", VariantsOf(op))})");
        _matmul = variant;
    }

    /// <inheritdoc />
    public DeviceBuffer Allocate(long length) => _device.Allocate(length);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"upload of {source.Length} floats into a view of {destination.Length}");
        if (!destination.IsEmpty) _device.Write(Mem(destination), destination.Offset, source);
    }

    /// <inheritdoc />
    public void Download(TensorView source, Span<float> destination)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"download of a view of {source.Length} floats into {destination.Length}");
        if (!source.IsEmpty) _device.Read(Mem(source), source.Offset, destination);
    }

    /// <inheritdoc />
    public void Zero(TensorView view)
    {
        if (!view.IsEmpty) _device.Fill(Mem(view), view.Offset, view.Length);
    }

    /// <inheritdoc />
    public void Copy(TensorView source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"copy of {source.Length} floats into a view of {destination.Length}");
        if (!source.IsEmpty) _device.Copy(Mem(source), source.Offset, Mem(destination), destination.Offset, source.Length);
    }

    /// <inheritdoc />
    public double SumOfSquares(TensorView view)
    {
        if (view.IsEmpty) return 0;
        int wg = _device.WorkGroupSize;
        // Enough groups to fill a device, few enough that the host's sum of partials is nothing.
        int groups = (int)Math.Min(256, (view.Length + wg - 1) / wg);
        TensorView partial = Scratch(groups);
        _device.Kernel("sum_of_squares").View(partial).View(view).Int(checked((int)view.Length)).Launch((long)groups * wg, wg);
        var host = new float[groups];
        Download(partial, host);
        double sum = 0;
        foreach (float p in host) sum += p;
        return sum;
    }

    /// <inheritdoc />
    public void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
    {
        CheckEncoder(tokens, wte, wpe, B, T, C);
        Expect("encoder", "out", output, (long)B * T * C);
        nint ints = _device.UploadInts(tokens[..(B * T)]);
        _device.Kernel("encoder_forward").View(output).Ints(ints, 0).View(wte).View(wpe).Int(T).Int(C).Launch(C, B * T, 0, 0);
    }

    /// <inheritdoc />
    public void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C)
    {
        CheckEncoder(tokens, dwte, dwpe, B, T, C);
        Expect("encoder", "dout", dout, (long)B * T * C);
        _device.Kernel("encoder_backward_wpe").View(dwpe).View(dout).Int(B).Int(T).Int(C).Launch(C, T, 0, 0);

        // Rows grouped by token, in row order within a token (a stable sort): packed as
        // [unique tokens (U) | group starts (U + 1) | rows (B·T)] for encoder_backward_wte.
        int n = B * T;
        int[] order = Enumerable.Range(0, n).ToArray();
        int[] keys = tokens[..n].ToArray();
        int[] sorted = order.OrderBy(i => keys[i]).ToArray();
        var unique = new List<int>();
        var starts = new List<int>();
        for (int i = 0; i < n; i++)
            if (i == 0 || keys[sorted[i]] != keys[sorted[i - 1]]) { unique.Add(keys[sorted[i]]); starts.Add(i); }
        starts.Add(n);
        int U = unique.Count;
        nint ints = _device.UploadInts([.. unique, .. starts, .. sorted]);
        _device.Kernel("encoder_backward_wte").View(dwte).View(dout).Ints(ints, 0).Ints(ints, U).Ints(ints, 2 * U + 1).Int(C)
            .Launch(C, U, 0, 0);
    }

    /// <inheritdoc />
    public void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps)
    {
        CheckLayerNorm(output, input, weight, bias, mean, rstd, N, C);
        int wg = _device.WorkGroupSize;
        _device.Kernel("layernorm_forward").View(output).View(mean).View(rstd).View(input).View(weight).View(bias).Int(C).Float(eps)
            .Launch((long)N * wg, wg);
    }

    /// <inheritdoc />
    public void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C)
    {
        CheckLayerNorm(dinp, input, weight, dweight, mean, rstd, N, C);
        Expect("layernorm", "dout", dout, (long)N * C);
        Expect("layernorm", "dbias", dbias, C);
        int wg = _device.WorkGroupSize;
        _device.Kernel("layernorm_backward_input").View(dinp).View(dout).View(input).View(weight).View(mean).View(rstd).Int(C)
            .Launch((long)N * wg, wg);
        _device.Kernel("layernorm_backward_params").View(dweight).View(dbias).View(dout).View(input).View(mean).View(rstd).Int(N).Int(C)
            .Launch(C);
    }

    /// <inheritdoc />
    public void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        Expect("matmul", "out", output, (long)N * OC);
        Expect("matmul", "inp", input, (long)N * C);
        Expect("matmul", "weight", weight, (long)OC * C);
        if (!bias.IsEmpty) Expect("matmul", "bias", bias, OC);
        if (ReadsPackedWeights)
        {
            MatmulPacked(output, input, weight, bias, N, C, OC);
            return;
        }
        Product(output, input, C, 1, weight, C, 1, bias, accumulate: false, N, OC, C);
    }

    /// <inheritdoc />
    public void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC)
    {
        if (!dinp.IsEmpty) Expect("matmul", "dinp", dinp, (long)N * C);
        Expect("matmul", "dweight", dweight, (long)OC * C);
        if (!dbias.IsEmpty) Expect("matmul", "dbias", dbias, OC);
        Expect("matmul", "dout", dout, (long)N * OC);
        Expect("matmul", "inp", input, (long)N * C);
        Expect("matmul", "weight", weight, (long)OC * C);
        // dinp[n,c] += Σ_o dout[n,o]·weight[o,c]; dweight[o,c] += Σ_n dout[n,o]·inp[n,c] (see matmul.cl).
        if (!dinp.IsEmpty) Product(dinp, dout, OC, 1, weight, 1, C, TensorView.Empty, accumulate: true, N, C, OC);
        Product(dweight, dout, 1, OC, input, 1, C, TensorView.Empty, accumulate: true, OC, C, N);
        if (!dbias.IsEmpty) _device.Kernel("matmul_backward_bias").View(dbias).View(dout).Int(N).Int(OC).Launch(OC);
    }

    /// <summary>out[M,N] (+)= Σ_k a[i·aSi + k·aSk]·b[j·bSj + k·bSk] (+ bias[j]) with the chosen matmul variant.</summary>
    private void Product(TensorView output, TensorView a, int aSi, int aSk, TensorView b, int bSj, int bSk, TensorView bias, bool accumulate, int M, int N, int K)
    {
        OpenClKernel kernel = _device.Kernel("matmul_" + _matmul).View(output).View(a).Int(aSi).Int(aSk).View(b).Int(bSj).Int(bSk)
            .View(bias).Int(bias.IsEmpty ? 0 : 1).Int(accumulate ? 1 : 0).Int(M).Int(N).Int(K);
        switch (_matmul)
        {
            case "naive": kernel.Launch(N, M, 0, 0); break;
            case "tiled": kernel.Launch(RoundUp(N, MatmulTile), RoundUp(M, MatmulTile), MatmulTile, MatmulTile); break;
            default: kernel.Launch(Groups(N, MatmulBlock) * 16, Groups(M, MatmulBlock) * 16, 16, 16); break;
        }
    }

    /// <inheritdoc />
    public void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal)
    {
        int hs = CheckAttention(output, lse, qkv, B, T, C, NH);
        if (B * T == 0) return;
        Flash(output, lse, qkv, qkv.Slice(C, qkv.Length - C), qkv.Slice(2 * C, qkv.Length - 2 * C), B, T, T,
            3 * C, T * 3 * C, 3 * C, T * 3 * C, C, NH, causal ? 0 : -1, hs);
    }

    /// <inheritdoc />
    public void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal)
    {
        int hs = CheckAttention(output, lse, qkv, B, T, C, NH);
        Expect("attention", "dqkv", dqkv, (long)B * T * 3 * C);
        Expect("attention", "dout", dout, (long)B * T * C);
        if (B * T == 0) return;
        TensorView D = Scratch((long)B * NH * T);
        float scale = 1f / MathF.Sqrt(hs);
        _device.Kernel("attention_backward_d").View(D).View(dout).View(output).Int(T).Int(C).Int(NH).Launch(T, B * NH, 0, 0);
        foreach (string name in new[] { "attention_backward_dq", "attention_backward_dkv" })
            _device.Kernel(name).View(dqkv).View(dout).View(qkv).View(lse).View(D).Int(T).Int(C).Int(NH).Int(causal ? 1 : 0).Float(scale)
                .Launch(RoundUp(T, AttentionRows), B * NH, AttentionRows, 1);
    }

    /// <inheritdoc />
    public void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH)
    {
        if (B < 0 || Tq < 0 || pos < 0 || C <= 0 || NH <= 0 || C % NH != 0)
            throw new ArgumentException($"attention (kv): bad dimensions (B={B}, Tq={Tq}, pos={pos}, C={C}, NH={NH})");
        if ((long)pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos), $"attention (kv): tokens {pos}..{pos + Tq - 1} do not fit a cache of {maxT} positions");
        Expect("attention (kv)", "out", output, (long)B * Tq * C);
        Expect("attention (kv)", "kCache", kCache, (long)B * maxT * C);
        Expect("attention (kv)", "vCache", vCache, (long)B * maxT * C);
        Expect("attention (kv)", "qkv", qkv, (long)B * Tq * 3 * C);
        int hs = C / NH;
        if (hs > MaxHeadSize) throw new ArgumentException($"attention (kv): head size {hs} is above the OpenCL kernels' {MaxHeadSize}");
        if (B * Tq == 0) return;
        _device.Kernel("attention_kv_append").View(kCache).View(vCache).View(qkv).Int(Tq).Int(pos).Int(maxT).Int(C).Launch(C, B * Tq, 0, 0);
        Flash(output, TensorView.Empty, qkv, kCache, vCache, B, Tq, pos + Tq, 3 * C, Tq * 3 * C, C, maxT * C, C, NH, pos, hs);
    }

    /// <summary>attention_forward (attention.cl) over query rows of q and key/value rows of k and v with the given strides.</summary>
    private void Flash(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int Tq, int Tk,
        int qStride, int qBatch, int kvStride, int kvBatch, int C, int NH, int causalShift, int hs, int kvGroup = 1)
    {
        _device.Kernel("attention_forward").View(output).View(lse).Int(lse.IsEmpty ? 0 : 1).View(q).View(k).View(v)
            .Int(Tq).Int(Tk).Int(qStride).Int(qBatch).Int(kvStride).Int(kvBatch).Int(C).Int(NH).Int(kvGroup).Int(causalShift).Float(1f / MathF.Sqrt(hs))
            .Launch(RoundUp(Tq, AttentionRows), B * NH, AttentionRows, 1);
    }

    /// <inheritdoc />
    public void GeluForward(TensorView output, TensorView input, int N)
    {
        Expect("gelu", "out", output, N);
        Expect("gelu", "inp", input, N);
        _device.Kernel("gelu_forward").View(output).View(input).Launch(N);
    }

    /// <inheritdoc />
    public void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N)
    {
        Expect("gelu", "dinp", dinp, N);
        Expect("gelu", "inp", input, N);
        Expect("gelu", "dout", dout, N);
        _device.Kernel("gelu_backward").View(dinp).View(input).View(dout).Launch(N);
    }

    /// <inheritdoc />
    public void ResidualForward(TensorView output, TensorView a, TensorView b, int N)
    {
        Expect("residual", "out", output, N);
        Expect("residual", "a", a, N);
        Expect("residual", "b", b, N);
        _device.Kernel("residual_forward").View(output).View(a).View(b).Launch(N);
    }

    /// <inheritdoc />
    public void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N)
    {
        Expect("residual", "da", da, N);
        Expect("residual", "db", db, N);
        Expect("residual", "dout", dout, N);
        _device.Kernel("residual_backward").View(da).View(db).View(dout).Launch(N);
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        CheckSoftmax(probs, targets, N, V, Vp);
        Expect("softmax cross-entropy", "logits", logits, (long)N * Vp);
        Expect("softmax cross-entropy", "losses", losses, N);
        int wg = _device.WorkGroupSize;
        nint ints = _device.UploadInts(targets[..N]);
        _device.Kernel("softmax_cross_entropy_forward").View(losses).View(probs).View(logits).Ints(ints, 0).Int(V).Int(Vp).Launch((long)N * wg, wg);
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp)
    {
        CheckSoftmax(probs, targets, N, V, Vp);
        Expect("softmax cross-entropy", "dlogits", dlogits, (long)N * Vp);
        nint ints = _device.UploadInts(targets[..N]);
        _device.Kernel("softmax_cross_entropy_backward").View(dlogits).View(probs).Ints(ints, 0).Float(dloss).Int(V).Int(Vp).Launch(Vp, N, 0, 0);
    }

    /// <inheritdoc />
    public void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        Expect("adamw", "m", m, parameters.Length);
        Expect("adamw", "v", v, parameters.Length);
        Expect("adamw", "grads", grads, parameters.Length);
        // In double, as the reference (and PyTorch): 1 − β₂ˢᵗᵉᵖ in float loses β₂'s rounding.
        float correction1 = (float)(1 - Math.Pow(beta1, step)), correction2 = (float)(1 - Math.Pow(beta2, step));
        _device.Kernel("adamw_update").View(parameters).View(m).View(v).View(grads).Float(lr).Float(beta1).Float(beta2).Float(eps)
            .Float(weightDecay).Float(correction1).Float(correction2).Float(gradScale).Launch(parameters.Length);
    }

    /// <inheritdoc />
    public void Synchronize() => _device.Finish();

    /// <inheritdoc />
    public void Dispose()
    {
        _packedWeights?.Dispose();
        _scratch?.Dispose();
        _scratch = null;
        _device.Dispose();
    }

    /// <summary>A device scratch view of at least <paramref name="length"/> floats, reused across ops (the queue is in order).</summary>
    private TensorView Scratch(long length)
    {
        if (_scratch is null || _scratch.Length < length)
        {
            _scratch?.Dispose();
            _scratch = _device.Allocate(Math.Max(length, 4096));
        }
        return _scratch.Slice(0, length);
    }

    private static nint Mem(TensorView view) => view.Buffer as OpenClBuffer is { } b ? b.Mem
        : throw new ArgumentException($"a {view.Buffer?.GetType().Name ?? "missing buffer"} was passed to the OpenCL backend");

    private static long RoundUp(long n, int multiple) => (n + multiple - 1) / multiple * multiple;

    private static long Groups(long n, int size) => (n + size - 1) / size;

    private static void Expect(string op, string name, TensorView view, long length)
    {
        if (view.Length != length)
            throw new ArgumentException($"{op}: {name} has {view.Length} floats, expected {length}");
    }

    private static void CheckEncoder(ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
    {
        if (B < 0 || T < 0 || C <= 0 || wte.Length % C != 0 || wpe.Length < (long)T * C)
            throw new ArgumentException($"encoder: bad dimensions (B={B}, T={T}, C={C}, wte {wte.Length}, wpe {wpe.Length} floats)");
        if (tokens.Length < B * T) throw new ArgumentException($"encoder: {tokens.Length} tokens for B·T = {B * T}");
        long V = wte.Length / C;
        foreach (int token in tokens[..(B * T)])
            if (token < 0 || token >= V) throw new ArgumentOutOfRangeException(nameof(tokens), $"encoder: token {token} is outside [0, {V})");
    }

    private static void CheckLayerNorm(TensorView rows, TensorView input, TensorView weight, TensorView channels, TensorView mean, TensorView rstd, int N, int C)
    {
        Expect("layernorm", "out/dinp", rows, (long)N * C);
        Expect("layernorm", "inp", input, (long)N * C);
        Expect("layernorm", "weight", weight, C);
        Expect("layernorm", "bias/dweight", channels, C);
        Expect("layernorm", "mean", mean, N);
        Expect("layernorm", "rstd", rstd, N);
    }

    private static int CheckAttention(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH)
    {
        if (B < 0 || T < 0 || C <= 0 || NH <= 0 || C % NH != 0)
            throw new ArgumentException($"attention: bad dimensions (B={B}, T={T}, C={C}, NH={NH})");
        Expect("attention", "out", output, (long)B * T * C);
        Expect("attention", "lse", lse, (long)B * NH * T);
        Expect("attention", "qkv", qkv, (long)B * T * 3 * C);
        int hs = C / NH;
        if (hs > MaxHeadSize) throw new ArgumentException($"attention: head size {hs} is above the OpenCL kernels' {MaxHeadSize}");
        return hs;
    }

    private static void CheckSoftmax(TensorView probs, ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        if (Vp < V) throw new ArgumentOutOfRangeException(nameof(Vp), $"softmax cross-entropy: row stride Vp = {Vp} is below V = {V}");
        Expect("softmax cross-entropy", "probs", probs, (long)N * Vp);
        if (targets.Length < N) throw new ArgumentException($"softmax cross-entropy: {targets.Length} targets for N = {N}");
        foreach (int target in targets[..N])
            if (target >= V) throw new ArgumentOutOfRangeException(nameof(targets), $"softmax cross-entropy: target {target} is not below V = {V}");
    }
}
