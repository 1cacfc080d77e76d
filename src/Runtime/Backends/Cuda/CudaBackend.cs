using System.Text;

namespace Hyper.Runtime.Backends.Cuda;

/// <summary>
/// The native CUDA backend: every op is a hand-written kernel in libhypercuda (native/cuda),
/// called through its C ABI. Buffers are device memory (<see cref="CudaBuffer"/>); a view is its
/// buffer's pointer plus offset·4 bytes. Token ids and targets stay on the host and are uploaded
/// by the library per call. The constructor throws <see cref="BackendUnavailableException"/> when
/// the library or a device is missing, so `hyper info` and the tests can say why.
/// <para>
/// Kernel lab: matmul has naive, tiled, blocked (register-blocked) and tf32 (TF32 tensor cores, sm_80+)
/// kernels (forward and backward), and attention's forward naive, flash and flash_tf32 (flash with
/// TF32 tensor-core products) kernels; the defaults are the fp32 fast ones. The tf32 ones are an
/// optional part of the library's build and throw <see cref="VariantNotBuiltException"/> where left out.
/// </para>
/// </summary>
public sealed unsafe partial class CudaBackend : IBackend, IKernelVariants, IWeightFallbackBackend
{
    /// <summary>Matmul variants, index = the library's HYPER_MATMUL_* id.</summary>
    internal static readonly string[] MatmulVariants = ["naive", "tiled", "blocked", "tf32"];

    /// <summary>Attention forward variants, index = the library's HYPER_ATTENTION_* id.</summary>
    internal static readonly string[] AttentionVariants = ["naive", "flash", "flash_tf32"];

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

    private readonly CudaNative _native;
    private int _matmulVariant = 2;
    private int _attentionVariant = 1;

    /// <summary>Loads libhypercuda and opens CUDA device <paramref name="device"/>.</summary>
    public CudaBackend(int device = 0)
    {
        _native = CudaNative.Load();
        int count;
        _native.Check(_native.DeviceCount(&count), "device count");
        if (count == 0)
        {
            string why = _native.LastErrorMessage();
            throw new BackendUnavailableException($"no CUDA device{(why.Length > 0 ? ": " + why : "")}");
        }
        if (device < 0 || device >= count)
            throw new BackendUnavailableException($"no CUDA device {device} ({count} found)");
        if (_native.Init(device) != 0)
            throw new BackendUnavailableException($"CUDA device {device} does not open: {_native.LastErrorMessage()}");
        byte* name = stackalloc byte[256];
        int major, minor, sms;
        long bytes;
        _native.Check(_native.DeviceInfo(name, 256, &major, &minor, &bytes, &sms), "device info");
        DeviceName = Encoding.UTF8.GetString(new ReadOnlySpan<byte>(name, 256).TrimEnd((byte)0).ToArray());
        ComputeCapability = new Version(major, minor);
        MemoryBytes = bytes;
        Multiprocessors = sms;
    }

    /// <inheritdoc />
    public string Name => "cuda";

    /// <summary>The device's name as the driver reports it.</summary>
    public string DeviceName { get; }

    /// <summary>Compute capability (major.minor), e.g. 9.0 for an H100.</summary>
    public Version ComputeCapability { get; }

    /// <summary>Global memory in bytes.</summary>
    public long MemoryBytes { get; }

    /// <summary>Streaming multiprocessors.</summary>
    public int Multiprocessors { get; }

    /// <inheritdoc />
    public string Description =>
        $"{DeviceName}, compute capability {ComputeCapability}, {MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, {Multiprocessors} SMs ({_native.Path})";

    /// <inheritdoc />
    public bool Supports(Op op) => Native.Contains(op);

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
        Op.Matmul => MatmulVariants[_matmulVariant],
        Op.Attention => AttentionVariants[_attentionVariant],
        _ => "default",
    };

    /// <inheritdoc />
    public void UseVariant(Op op, string variant)
    {
        var names = VariantsOf(op);
        int index = names.ToList().IndexOf(variant);
        if (index < 0)
            throw new ArgumentException($"cuda has no {op} variant '{variant}' (known: {(names.Count > 0 ? string.Join(", ", names) : "none")})");
        if (op == Op.Matmul) _matmulVariant = index;
        else _attentionVariant = index;
    }

    /// <inheritdoc />
    public DeviceBuffer Allocate(long length) => new CudaBuffer(_native, length);

    /// <summary>The device address of a view (0 for an empty one, which the library reads as "none").</summary>
    private static nint P(TensorView view)
    {
        if (view.IsEmpty) return 0;
        if (view.Buffer is not CudaBuffer buffer)
            throw new ArgumentException($"a {view.Buffer.GetType().Name} was passed to the cuda backend");
        return buffer.At(view.Offset);
    }

    private static void Expect(TensorView view, long length, string what)
    {
        if (view.Length != length) throw new ArgumentException($"cuda: {what} has {view.Length} floats, expected {length}");
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"upload of {source.Length} floats into a view of {destination.Length}");
        fixed (float* s = source) _native.Check(_native.Upload(P(destination), s, (long)source.Length * sizeof(float)), "upload");
    }

    /// <inheritdoc />
    public void Download(TensorView source, Span<float> destination)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"download of a view of {source.Length} floats into {destination.Length}");
        fixed (float* d = destination) _native.Check(_native.Download(d, P(source), (long)destination.Length * sizeof(float)), "download");
    }

    /// <inheritdoc />
    public void Zero(TensorView view) => _native.Check(_native.Zero(P(view), view.Length * sizeof(float)), "zero");

    /// <inheritdoc />
    public void Copy(TensorView source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"copy of {source.Length} floats into a view of {destination.Length}");
        _native.Check(_native.Copy(P(destination), P(source), source.Length * sizeof(float)), "copy");
    }

    /// <inheritdoc />
    public void Synchronize() => _native.Check(_native.Synchronize(), "synchronize");

    /// <inheritdoc />
    public double SumOfSquares(TensorView view)
    {
        double result;
        _native.Check(_native.SumOfSquares(&result, P(view), view.Length), "sum of squares");
        return result;
    }

    /// <inheritdoc />
    public void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
    {
        Expect(output, (long)B * T * C, "encoder output");
        int V = CheckTokens(tokens, wte, B, T, C);
        fixed (int* t = tokens) _native.Check(_native.EncoderForward(P(output), t, P(wte), P(wpe), B, T, C, V), "encoder forward");
    }

    /// <inheritdoc />
    public void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C)
    {
        Expect(dout, (long)B * T * C, "encoder dout");
        int V = CheckTokens(tokens, dwte, B, T, C);
        fixed (int* t = tokens) _native.Check(_native.EncoderBackward(P(dwte), P(dwpe), P(dout), t, B, T, C, V), "encoder backward");
    }

    // The reference's contract: an id outside [0, V) is an ArgumentOutOfRangeException, raised before any write.
    private static int CheckTokens(ReadOnlySpan<int> tokens, TensorView table, int B, int T, int C)
    {
        if (tokens.Length < B * T) throw new ArgumentException($"cuda: {tokens.Length} token ids for B·T = {B * T}");
        int V = (int)(table.Length / C);
        foreach (int token in tokens[..(B * T)])
        {
            ArgumentOutOfRangeException.ThrowIfNegative(token, nameof(tokens));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, V, nameof(tokens));
        }
        return V;
    }

    /// <inheritdoc />
    public void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps)
    {
        Expect(input, (long)N * C, "layernorm input");
        Expect(output, (long)N * C, "layernorm output");
        _native.Check(_native.LayernormForward(P(output), P(mean), P(rstd), P(input), P(weight), P(bias), N, C, eps), "layernorm forward");
    }

    /// <inheritdoc />
    public void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C)
    {
        Expect(dinp, (long)N * C, "layernorm dinp");
        Expect(dout, (long)N * C, "layernorm dout");
        _native.Check(_native.LayernormBackward(P(dinp), P(dweight), P(dbias), P(dout), P(input), P(weight), P(mean), P(rstd), N, C), "layernorm backward");
    }

    /// <inheritdoc />
    public void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        Expect(output, (long)N * OC, "matmul output");
        Expect(input, (long)N * C, "matmul input");
        Expect(weight, (long)OC * C, "matmul weight");
        if (!bias.IsEmpty) Expect(bias, OC, "matmul bias");
        if (_fallback is not null) weight = _fallback.Of(weight, C, OC);
        _native.Check(_native.MatmulForward(P(output), P(input), P(weight), P(bias), N, C, OC, _matmulVariant), "matmul forward");
    }

    /// <inheritdoc />
    public void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC)
    {
        if (!dinp.IsEmpty) Expect(dinp, (long)N * C, "matmul dinp");
        Expect(dweight, (long)OC * C, "matmul dweight");
        if (!dbias.IsEmpty) Expect(dbias, OC, "matmul dbias");
        Expect(dout, (long)N * OC, "matmul dout");
        _native.Check(_native.MatmulBackward(P(dinp), P(dweight), P(dbias), P(dout), P(input), P(weight), N, C, OC, _matmulVariant), "matmul backward");
    }

    /// <inheritdoc />
    public void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal)
    {
        Expect(qkv, (long)B * T * 3 * C, "attention qkv");
        Expect(output, (long)B * T * C, "attention output");
        Expect(lse, (long)B * NH * T, "attention lse");
        _native.Check(_native.AttentionForward(P(output), P(lse), P(qkv), B, T, C, NH, causal ? 1 : 0, _attentionVariant), "attention forward");
    }

    /// <inheritdoc />
    public void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal)
    {
        Expect(dqkv, (long)B * T * 3 * C, "attention dqkv");
        Expect(dout, (long)B * T * C, "attention dout");
        _native.Check(_native.AttentionBackward(P(dqkv), P(dout), P(qkv), P(output), P(lse), B, T, C, NH, causal ? 1 : 0), "attention backward");
    }

    /// <inheritdoc />
    public void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH)
    {
        Expect(kCache, (long)B * maxT * C, "attention k cache");
        Expect(vCache, (long)B * maxT * C, "attention v cache");
        Expect(qkv, (long)B * Tq * 3 * C, "attention qkv");
        _native.Check(_native.AttentionKvForward(P(output), P(kCache), P(vCache), P(qkv), B, Tq, pos, maxT, C, NH), "attention kv forward");
    }

    /// <inheritdoc />
    public void GeluForward(TensorView output, TensorView input, int N) => _native.Check(_native.GeluForward(P(output), P(input), N), "gelu forward");

    /// <inheritdoc />
    public void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N) => _native.Check(_native.GeluBackward(P(dinp), P(input), P(dout), N), "gelu backward");

    /// <inheritdoc />
    public void ResidualForward(TensorView output, TensorView a, TensorView b, int N) => _native.Check(_native.ResidualForward(P(output), P(a), P(b), N), "residual forward");

    /// <inheritdoc />
    public void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N) => _native.Check(_native.ResidualBackward(P(da), P(db), P(dout), N), "residual backward");

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        CheckTargets(targets, N, V);
        fixed (int* t = targets)
            _native.Check(_native.SoftmaxCrossEntropyForward(P(losses), P(probs), P(logits), t, N, V, Vp), "softmax cross-entropy forward");
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp)
    {
        CheckTargets(targets, N, V);
        fixed (int* t = targets)
            _native.Check(_native.SoftmaxCrossEntropyBackward(P(dlogits), P(probs), t, dloss, N, V, Vp), "softmax cross-entropy backward");
    }

    private static void CheckTargets(ReadOnlySpan<int> targets, int N, int V)
    {
        if (targets.Length < N) throw new ArgumentException($"cuda: {targets.Length} targets for N = {N}");
        foreach (int target in targets[..N]) ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(target, V, nameof(targets));
    }

    /// <inheritdoc />
    public void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        _native.Check(_native.AdamwUpdate(P(parameters), P(m), P(v), P(grads), parameters.Length, lr, beta1, beta2, eps, weightDecay, step, gradScale), "adamw");
    }

    // Made the first time a bf16 or q8 format is set (see IWeightFallbackBackend).
    private WeightFallback? _fallback;

    /// <inheritdoc />
    WeightFallback IWeightFallbackBackend.Fallback => _fallback ??= new(this);

    /// <inheritdoc />
    public void Dispose()
    {
        // Kernels are asynchronous: a failure in the last ones surfaces here rather than never.
        _native.Synchronize();
        _fallback?.Dispose();
        GC.SuppressFinalize(this);
    }
}
