using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// A plain two-layer classifier as a hypernetwork target, for small tasks and for gradient
/// checks: logits = fc2(gelu(fc1(x))), loss = mean cross-entropy. One parameter arena
/// [w1[H,In], b1[H], w2[K,H], b2[K]] and a gradient arena of the same layout.
/// </summary>
public sealed class MlpTarget : IHyperTarget<MlpBatch>, IDisposable
{
    private readonly DeviceBuffer _params, _grads;
    private DeviceBuffer? _acts;
    private int _actsN = -1;
    // Views into _acts for the current N: x[N,In], h[N,H] (pre-activation), a[N,H], logits[N,K]
    // (probabilities after the loss, then their gradient), losses[N], da[N,H], dh[N,H].
    private TensorView _x, _h, _a, _logits, _losses, _da, _dh;

    /// <summary>Input features.</summary>
    public int In { get; }
    /// <summary>Hidden width.</summary>
    public int Hidden { get; }
    /// <summary>Classes.</summary>
    public int Classes { get; }
    /// <inheritdoc />
    public IBackend Backend { get; }
    /// <inheritdoc />
    public TensorView Parameters => _params.All;
    /// <inheritdoc />
    public TensorView Gradients => _grads.All;
    /// <inheritdoc />
    public IReadOnlyList<HyperTargetTensor> Tensors { get; }

    /// <summary>Allocates an MLP with zero parameters.</summary>
    public MlpTarget(int inputs, int hidden, int classes, IBackend backend)
    {
        if (inputs < 1 || hidden < 1 || classes < 2) throw new ArgumentException($"MLP needs inputs >= 1, hidden >= 1, classes >= 2 (got {inputs}, {hidden}, {classes})");
        (In, Hidden, Classes, Backend) = (inputs, hidden, classes, backend);
        // Weights start as N(0, 1/fan_in) (variance-preserving); biases at 0 with a small spread allowed.
        Tensors =
        [
            new("w1", 0, (long)hidden * inputs, 1f / MathF.Sqrt(inputs)),
            new("b1", (long)hidden * inputs, hidden, 0.02f),
            new("w2", (long)hidden * inputs + hidden, (long)classes * hidden, 1f / MathF.Sqrt(hidden)),
            new("b2", (long)hidden * inputs + hidden + (long)classes * hidden, classes, 0.02f),
        ];
        long total = Tensors[^1].Offset + Tensors[^1].Count;
        _params = backend.Allocate(total);
        _grads = backend.Allocate(total);
    }

    private TensorView T(TensorView arena, int i) => arena.Slice(Tensors[i].Offset, Tensors[i].Count);

    /// <inheritdoc />
    public void InitializeWeights(ulong seed)
    {
        var rng = new Rng(seed);
        var host = new float[Parameters.Length];
        foreach (var t in new[] { Tensors[0], Tensors[2] })
            for (long i = t.Offset; i < t.Offset + t.Count; i++) host[i] = (float)rng.NextNormal() * t.Scale;
        Backend.Upload(host, Parameters);
    }

    /// <inheritdoc />
    public void ZeroGradients() => Backend.Zero(Gradients);

    private void Run(MlpBatch batch)
    {
        int N = batch.N;
        if (batch.X.Length != N * In || batch.Labels.Length != N)
            throw new ArgumentException($"MLP batch of N={N} needs {N * In} features and {N} labels (got {batch.X.Length}, {batch.Labels.Length})");
        if (_actsN != N)
        {
            _acts?.Dispose();
            long[] sizes = [(long)N * In, (long)N * Hidden, (long)N * Hidden, (long)N * Classes, N, (long)N * Hidden, (long)N * Hidden];
            _acts = Backend.Allocate(sizes.Sum());
            long o = 0;
            TensorView Next(long n) { var v = _acts.Slice(o, n); o += n; return v; }
            (_x, _h, _a, _logits, _losses, _da, _dh) = (Next(sizes[0]), Next(sizes[1]), Next(sizes[2]), Next(sizes[3]), Next(sizes[4]), Next(sizes[5]), Next(sizes[6]));
            _actsN = N;
        }
        var be = Backend;
        var p = Parameters;
        be.Upload(batch.X, _x);
        be.MatmulForward(_h, _x, T(p, 0), T(p, 1), N, In, Hidden);
        be.GeluForward(_a, _h, N * Hidden);
        be.MatmulForward(_logits, _a, T(p, 2), T(p, 3), N, Hidden, Classes);
        be.SoftmaxCrossEntropyForward(_losses, _logits, _logits, batch.Labels, N, Classes, Classes);
    }

    private float MeanLoss(int N)
    {
        var losses = new float[N];
        Backend.Download(_losses, losses);
        double sum = 0;
        foreach (float l in losses) sum += l;
        return (float)(sum / N);
    }

    /// <inheritdoc />
    public float Loss(MlpBatch batch)
    {
        Run(batch);
        return MeanLoss(batch.N);
    }

    /// <inheritdoc />
    public float ForwardBackward(MlpBatch batch, float lossScale)
    {
        Run(batch);
        int N = batch.N;
        var be = Backend;
        var p = Parameters;
        var g = Gradients;
        be.SoftmaxCrossEntropyBackward(_logits, _logits, batch.Labels, lossScale / N, N, Classes, Classes);
        be.Zero(_da);
        be.MatmulBackward(_da, T(g, 2), T(g, 3), _logits, _a, T(p, 2), N, Hidden, Classes);
        be.Zero(_dh);
        be.GeluBackward(_dh, _h, _da, N * Hidden);
        be.MatmulBackward(TensorView.Empty, T(g, 0), T(g, 1), _dh, _x, T(p, 0), N, In, Hidden);
        return MeanLoss(N);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _params.Dispose();
        _grads.Dispose();
        _acts?.Dispose();
    }
}
