using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// The Llama family (Llama 2/3, TinyLlama, SmolLM, Mistral, Qwen2/2.5/3) against
/// <see cref="IBackend"/>, in the same shape as <see cref="Gpt2"/>: one parameter arena, one
/// gradient arena, an activation arena per (B, T). Pre-norm blocks: h = x + o(attn(rope(q(n₁x)),
/// rope(k(n₁x)), v(n₁x))), out = h + down(silu(gate(n₂h))·up(n₂h)), with RMSNorm n₁, n₂,
/// grouped-query attention and an output head tied to the embedding or not.
/// </summary>
public sealed class Llama : ICausalLm
{
    private readonly DeviceBuffer _params, _grads, _rope;
    private DeviceBuffer? _m, _v, _positions;
    private LlamaActivations? _acts;
    private int[] _tokens = [];
    private int[] _targets = [];
    private float[] _losses = [];
    private int _validTargets;
    private int? _trainLast;
    private readonly BlockWeights[] _blocks;

    /// <summary>Hyperparameters.</summary>
    public LlamaConfig Config { get; }
    IModelConfig ICausalLm.Config => Config;
    /// <inheritdoc />
    public IBackend Backend { get; }
    /// <inheritdoc />
    public ParameterLayout Layout { get; }
    /// <inheritdoc />
    public int Step { get; set; }
    /// <inheritdoc />
    public TensorView Parameters => _params.All;
    /// <inheritdoc />
    public TensorView Gradients => _grads.All;
    /// <inheritdoc />
    public TensorView Logits => (_acts ?? throw new InvalidOperationException("no forward has run yet")).Logits;

    /// <summary>The rotary tables [context, hd/2]: cos, then sin.</summary>
    internal TensorView Cos => _rope.Slice(0, _rope.Length / 2);
    internal TensorView Sin => _rope.Slice(_rope.Length / 2, _rope.Length / 2);

    /// <summary>
    /// The layers that use HyperAttention and its settings; null: exact attention everywhere. In
    /// those layers q and k are rotated first, so the LSH buckets and the sampled keys see the
    /// rotated vectors that exact attention multiplies; each key/value head is repeated for its
    /// NH/NKV query heads (<see cref="GroupedHeads"/>) and the op runs as multi-head attention.
    /// </summary>
    public HyperAttentionSettings? HyperAttention
    {
        get => _hyper;
        set
        {
            if (value is not null && (value.LayerCount != Config.NumHiddenLayers || value.HeadSize != Config.HeadDim))
                throw new ArgumentException($"hyper attention settings for {value.LayerCount} layers of head size {value.HeadSize} do not fit this model ({Config.NumHiddenLayers} layers, head size {Config.HeadDim})");
            if (value is not null && !Backend.Supports(Op.HyperAttention))
                throw new NotSupportedException($"the {Backend.Name} backend does not run HyperAttention (the cpu and reference backends do)");
            _hyper = value;
        }
    }

    private HyperAttentionSettings? _hyper;
    private DeviceBuffer? _hyperScratch; // [2][N,3Q]: the repeated qkv, then its gradient

    /// <inheritdoc />
    public int? TrainLastBlocks
    {
        get => _trainLast;
        set
        {
            if (value is int n && (n < 1 || n > Config.NumHiddenLayers))
                throw new ArgumentOutOfRangeException(nameof(value), $"the model has {Config.NumHiddenLayers} blocks; cannot train the last {n}");
            _trainLast = value;
        }
    }

    /// <summary>One block's weights (views of layer l's slices; biases and q/k norms empty where the architecture has none).</summary>
    internal readonly record struct BlockWeights(TensorView Ln1w, TensorView Qw, TensorView Qb, TensorView Kw, TensorView Kb, TensorView Vw, TensorView Vb,
        TensorView QNormw, TensorView KNormw, TensorView Ow, TensorView Ob, TensorView Ln2w, TensorView Gatew, TensorView Upw, TensorView Downw);

    internal BlockWeights[] Blocks => _blocks;

    /// <summary>
    /// The arena tensors the model multiplies by as matmul weights, each as one view: a layer's slice
    /// of q, k, v, o, gate, up and down (each its own matmul, none fused), and the untied head with its
    /// pad rows (<see cref="Head"/>). A tied head is the embedding, which the lookup also reads in fp32.
    /// </summary>
    internal static readonly IReadOnlySet<string> MatmulWeights = new HashSet<string>(StringComparer.Ordinal)
    {
        "qw", "kw", "vw", "ow", "gatew", "upw", "downw", "lmhead",
    };

    /// <summary>How a block's attention runs: over the whole batch (training) or against the KV cache (decoding). It also rotates q and k, since only it knows their positions.</summary>
    internal interface IBlockAttention
    {
        void Attend(IBackend be, int layer, in LlamaActivations.Layer x);
    }

    /// <summary>
    /// The arena, in Hugging Face's order: embedding, per-block tensors stacked on L, final norm,
    /// output head when untied. Decay on matrices (embedding, projections, head), not on norm gains or biases.
    /// The head (the embedding when tied, else lm_head) has Vp rows, the last Vp − V of them padding
    /// (see <see cref="VocabularyPadding"/>); an untied embedding keeps V.
    /// </summary>
    public static IEnumerable<ParameterLayout.Spec> LayoutSpecs(LlamaConfig c)
    {
        int V = c.VocabSize, Vp = c.PaddedVocabSize, C = c.HiddenSize, L = c.NumHiddenLayers, I = c.IntermediateSize, hd = c.HeadDim;
        int Q = checked(c.NumAttentionHeads * hd), KV = checked(c.KvHeads * hd);
        const LayoutPart E = LayoutPart.Embedding, Blk = LayoutPart.Block, H = LayoutPart.Head;
        var embed = c.TieWordEmbeddings ? new ParameterLayout.Spec("embed", [Vp, C], true, E, Vp - V) : new ParameterLayout.Spec("embed", [V, C], true, E);
        var specs = new List<ParameterLayout.Spec> { embed, new("ln1w", [L, C], false, Blk), new("qw", [L, Q, C], true, Blk) };
        if (c.QkvBias) specs.Add(new("qb", [L, Q], false, Blk));
        specs.Add(new("kw", [L, KV, C], true, Blk));
        if (c.QkvBias) specs.Add(new("kb", [L, KV], false, Blk));
        specs.Add(new("vw", [L, KV, C], true, Blk));
        if (c.QkvBias) specs.Add(new("vb", [L, KV], false, Blk));
        if (c.QkNorm)
        {
            specs.Add(new("qnormw", [L, hd], false, Blk));
            specs.Add(new("knormw", [L, hd], false, Blk));
        }
        specs.Add(new("ow", [L, C, Q], true, Blk));
        if (c.OutputBias) specs.Add(new("ob", [L, C], false, Blk));
        specs.Add(new("ln2w", [L, C], false, Blk));
        specs.Add(new("gatew", [L, I, C], true, Blk));
        specs.Add(new("upw", [L, I, C], true, Blk));
        specs.Add(new("downw", [L, C, I], true, Blk));
        specs.Add(new("normw", [C], false, H));
        if (!c.TieWordEmbeddings) specs.Add(new("lmhead", [Vp, C], true, H, Vp - V));
        return specs;
    }

    /// <summary>Allocates a model with zero parameters; use <see cref="InitializeWeights"/> or <see cref="LoadParameters"/>.</summary>
    public Llama(LlamaConfig config, IBackend backend)
    {
        config.Validate();
        Config = config;
        Backend = backend;
        Layout = new ParameterLayout(config.NumHiddenLayers, LayoutSpecs(config));
        _params = backend.Allocate(Layout.Total);
        _grads = backend.Allocate(Layout.Total);
        int context = ((IModelConfig)config).Context;
        var (cos, sin) = Kernels.Reference.Rope.Tables(config.InverseFrequencies(), context);
        _rope = backend.Allocate(2L * cos.Length);
        backend.Upload(cos, Cos);
        backend.Upload(sin, Sin);
        var p = Parameters;
        TensorView At(string name, int l) => Layout.TryGet(name) is { } e ? Slice(p, Layout.LayerRange(e, l)) : TensorView.Empty;
        _blocks = new BlockWeights[config.NumHiddenLayers];
        for (int l = 0; l < _blocks.Length; l++)
            _blocks[l] = new BlockWeights(At("ln1w", l), At("qw", l), At("qb", l), At("kw", l), At("kb", l), At("vw", l), At("vb", l),
                At("qnormw", l), At("knormw", l), At("ow", l), At("ob", l), At("ln2w", l), At("gatew", l), At("upw", l), At("downw", l));
    }

    private static TensorView Slice(TensorView arena, (long Offset, long Count) r) => arena.Slice(r.Offset, r.Count);

    /// <summary>A view of one named tensor of an arena laid out as <see cref="Layout"/>.</summary>
    public TensorView Tensor(TensorView arena, string name)
    {
        var e = Layout[name];
        return arena.Slice(e.Offset, e.Count);
    }

    private TensorView LayerTensor(TensorView arena, string name, int l) =>
        Layout.TryGet(name) is { } e ? Slice(arena, Layout.LayerRange(e, l)) : TensorView.Empty;

    /// <summary>The output head: lm_head, or the embedding when tied.</summary>
    internal TensorView Head(TensorView arena) => Tensor(arena, Config.TieWordEmbeddings ? "embed" : "lmhead");

    /// <summary>Hugging Face's initialisation (initializer_range 0.02): matrices ~ N(0, 0.02), norm gains 1, biases 0.</summary>
    public void InitializeWeights(ulong seed)
    {
        var rng = new Rng(seed);
        var host = new float[Layout.Total];
        foreach (var e in Layout.Entries)
        {
            var span = host.AsSpan((int)e.Offset, (int)e.Stored); // pad rows stay zero
            if (e.Name.EndsWith('w') && !e.Decay) span.Fill(1f);        // norm gains
            else if (e.Decay) for (int i = 0; i < span.Length; i++) span[i] = (float)rng.NextNormal() * 0.02f;
        }
        LoadParameters(host);
    }

    /// <inheritdoc />
    public void LoadParameters(ReadOnlySpan<float> arena) => Backend.Upload(arena, Parameters);

    /// <inheritdoc />
    public float[] ReadParameters()
    {
        LowPrecision.RequireFp32Weights(this, "read its fp32 parameters");
        var host = new float[Layout.Total];
        Backend.Download(Parameters, host);
        return host;
    }

    /// <inheritdoc />
    public float[] ReadGradients()
    {
        var host = new float[Layout.Total];
        Backend.Download(Gradients, host);
        return host;
    }

    /// <summary>
    /// One block, the one definition used by training and decoding. <paramref name="residual"/> is
    /// the block's input [N,C]; the output goes to x.Residual3 (which may be the input: it is read first).
    /// </summary>
    internal static void BlockForward<TAttention>(IBackend be, LlamaConfig c, in BlockWeights w, in LlamaActivations.Layer x, TensorView residual,
        int N, int layer, ref TAttention attention) where TAttention : struct, IBlockAttention
    {
        int C = c.HiddenSize, I = c.IntermediateSize, hd = c.HeadDim, Q = c.NumAttentionHeads * hd, KV = c.KvHeads * hd;
        float eps = c.RmsNormEps;
        be.RmsNormForward(x.Ln1, x.Ln1Rstd, residual, w.Ln1w, N, C, eps);
        be.MatmulForward(x.QRaw, x.Ln1, w.Qw, w.Qb, N, C, Q);
        be.MatmulForward(x.KRaw, x.Ln1, w.Kw, w.Kb, N, C, KV);
        be.MatmulForward(x.V, x.Ln1, w.Vw, w.Vb, N, C, KV);
        if (c.QkNorm)
        {
            // Qwen3: each head's q and k normalised over head_dim before the rotation.
            be.RmsNormForward(x.Q, x.QRstd, x.QRaw, w.QNormw, N * c.NumAttentionHeads, hd, eps);
            be.RmsNormForward(x.K, x.KRstd, x.KRaw, w.KNormw, N * c.KvHeads, hd, eps);
        }
        attention.Attend(be, layer, x);
        be.MatmulForward(x.AttProj, x.Atty, w.Ow, w.Ob, N, Q, C);
        be.ResidualForward(x.Residual2, residual, x.AttProj, N * C);
        be.RmsNormForward(x.Ln2, x.Ln2Rstd, x.Residual2, w.Ln2w, N, C, eps);
        be.MatmulForward(x.Gate, x.Ln2, w.Gatew, TensorView.Empty, N, C, I);
        be.MatmulForward(x.Up, x.Ln2, w.Upw, TensorView.Empty, N, C, I);
        be.SwiGluForward(x.Act, x.Gate, x.Up, N * I);
        be.MatmulForward(x.Down, x.Act, w.Downw, TensorView.Empty, N, I, C);
        be.ResidualForward(x.Residual3, x.Residual2, x.Down, N * C);
    }

    /// <summary>
    /// Causal attention over the whole batch, exact or HyperAttention per layer; q and k are
    /// rotated in place first (the backward needs only their rotated form, and the hashing sees it).
    /// <paramref name="qkv"/> [N,3Q] is the scratch the HyperAttention layers repeat the heads into.
    /// </summary>
    private readonly struct SequenceAttention(LlamaConfig c, TensorView cos, TensorView sin, int B, int T, HyperAttentionSettings? hyper, TensorView qkv)
        : IBlockAttention
    {
        public void Attend(IBackend be, int layer, in LlamaActivations.Layer x)
        {
            int NH = c.NumAttentionHeads, NKV = c.KvHeads, hd = c.HeadDim;
            be.RopeForward(x.Q, x.Q, cos, sin, B, T, NH, hd, 0);
            be.RopeForward(x.K, x.K, cos, sin, B, T, NKV, hd, 0);
            if (hyper is not null && hyper.Uses(layer))
            {
                GroupedHeads.Expand(be, qkv, x.Q, x.K, x.V, B * T, NH, NKV, hd);
                ((IHyperAttentionBackend)be).HyperAttentionForward(x.Atty, x.Lse, qkv, hyper.Plan(layer, T, NH), B, T, NH * hd, NH);
            }
            else
                be.GroupedQueryAttentionForward(x.Atty, x.Lse, x.Q, x.K, x.V, B, T, NH, NKV, hd);
        }
    }

    /// <summary>The HyperAttention layers' scratch for N rows: qkv [N,3Q], then dqkv [N,3Q] (empty views when no layer needs them).</summary>
    private (TensorView Qkv, TensorView DQkv) HyperScratch(int N)
    {
        if (_hyper is null) return (TensorView.Empty, TensorView.Empty);
        long n = 3L * N * Config.NumAttentionHeads * Config.HeadDim;
        if (_hyperScratch is null || _hyperScratch.Length < 2 * n)
        {
            _hyperScratch?.Dispose();
            _hyperScratch = Backend.Allocate(2 * n);
        }
        return (_hyperScratch.Slice(0, n), _hyperScratch.Slice(n, n));
    }

    /// <summary>A zero position table [T,C]: the encoder op adds one, and this family has none (positions are rotations of q and k).</summary>
    private TensorView ZeroPositions(int T)
    {
        long n = (long)T * Config.HiddenSize;
        if (_positions is null || _positions.Length < 2 * n)
        {
            _positions?.Dispose();
            _positions = Backend.Allocate(2 * n); // the table, then the scratch its gradient is written to
        }
        return _positions.Slice(0, n);
    }

    /// <inheritdoc />
    public float Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int B, int T)
    {
        var c = Config;
        int C = c.HiddenSize, V = c.VocabSize, Vp = c.PaddedVocabSize, context = ((IModelConfig)c).Context;
        ForwardInput.Check(tokens, targets, B, T, context, V, "max_position_embeddings");
        if (_acts is null || _acts.B != B || _acts.T != T)
        {
            _acts?.Dispose();
            _acts = new LlamaActivations(Backend, c, B, T);
        }
        ForwardInput.Keep(ref _tokens, tokens);
        ForwardInput.Keep(ref _targets, targets);
        var be = Backend;
        var p = Parameters;
        var a = _acts;
        int N = B * T;
        be.EncoderForward(a.Encoded, tokens, Tensor(p, "embed"), ZeroPositions(T), B, T, C);
        TensorView residual = a.Encoded;
        var attention = new SequenceAttention(c, Cos, Sin, B, T, _hyper, HyperScratch(N).Qkv);
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            BlockForward(be, c, _blocks[l], a[l], residual, N, l, ref attention);
            residual = a[l].Residual3;
        }
        be.RmsNormForward(a.Lnf, a.LnfRstd, residual, Tensor(p, "normw"), N, C, c.RmsNormEps);
        // All Vp rows of the head: the GEMM's rows are Vp long, its pad columns zero and never read by the loss.
        be.MatmulForward(a.Logits, a.Lnf, Head(p), TensorView.Empty, N, C, Vp);
        if (targets.IsEmpty)
        {
            _validTargets = 0;
            return float.NaN;
        }
        be.SoftmaxCrossEntropyForward(a.Losses, a.Logits, a.Logits, targets, N, V, Vp);
        return ForwardInput.MeanLoss(be, a.Losses, targets, ref _losses, out _validTargets);
    }

    /// <inheritdoc />
    public void ZeroGradients()
    {
        AdamWOptimizer.ZeroGradients(Backend, Layout, Gradients, _trainLast);
        // A tied head's gradient is written by the backward even when the embedding is frozen.
        if (_trainLast is not null && Config.TieWordEmbeddings) Backend.Zero(Head(Gradients));
    }

    /// <inheritdoc />
    public Action<int>? BlockGradientsDone { get; set; }

    /// <inheritdoc />
    public void Backward(float lossScale = 1f)
    {
        if (_acts is null || _targets.Length == 0) throw new InvalidOperationException("Backward needs a forward with targets first");
        LowPrecision.RequireFp32Weights(this, "train it");
        var c = Config;
        int B = _acts.B, T = _acts.T, N = B * T, L = c.NumHiddenLayers;
        int C = c.HiddenSize, V = c.VocabSize, Vp = c.PaddedVocabSize, I = c.IntermediateSize, hd = c.HeadDim, NH = c.NumAttentionHeads, NKV = c.KvHeads;
        int Q = NH * hd, KV = NKV * hd;
        var be = Backend;
        var p = Parameters;
        var g = Gradients;
        var a = _acts;
        var d = a.Grad;

        float dloss = _validTargets == 0 ? 0f : lossScale / _validTargets;
        // dlogits' pad columns are zero, so the head's pad rows get no gradient.
        be.SoftmaxCrossEntropyBackward(a.Logits, a.Logits, _targets, dloss, N, V, Vp);
        be.Zero(d.DLn);
        be.MatmulBackward(d.DLn, Head(g), TensorView.Empty, a.Logits, a.Lnf, Head(p), N, C, Vp);
        be.Zero(d.DResidual);
        be.RmsNormBackward(d.DResidual, Tensor(g, "normw"), d.DLn, a[L - 1].Residual3, Tensor(p, "normw"), a.LnfRstd, N, C);

        int lowest = _trainLast is int n ? L - n : 0;
        for (int l = L - 1; l >= lowest; l--)
        {
            var x = a[l];
            TensorView residualIn = l == 0 ? a.Encoded : a[l - 1].Residual3;
            TensorView W(string name) => LayerTensor(p, name, l);
            TensorView G(string name) => LayerTensor(g, name, l);

            // MLP branch.
            be.Zero(d.DAct);
            be.MatmulBackward(d.DAct, G("downw"), TensorView.Empty, d.DResidual, x.Act, W("downw"), N, I, C);
            be.Zero(d.DGate);
            be.Zero(d.DUp);
            be.SwiGluBackward(d.DGate, d.DUp, d.DAct, x.Gate, x.Up, N * I);
            be.Zero(d.DLn);
            be.MatmulBackward(d.DLn, G("gatew"), TensorView.Empty, d.DGate, x.Ln2, W("gatew"), N, C, I);
            be.MatmulBackward(d.DLn, G("upw"), TensorView.Empty, d.DUp, x.Ln2, W("upw"), N, C, I);
            be.RmsNormBackward(d.DResidual, G("ln2w"), d.DLn, x.Residual2, W("ln2w"), x.Ln2Rstd, N, C);

            // Attention branch: o, attention, rotation (its transpose), q/k norm, projections.
            be.Zero(d.DAtty);
            be.MatmulBackward(d.DAtty, G("ow"), G("ob"), d.DResidual, x.Atty, W("ow"), N, Q, C);
            be.Zero(d.DQ);
            be.Zero(d.DK);
            be.Zero(d.DV);
            if (_hyper is not null && _hyper.Uses(l))
            {
                // The forward's repeated qkv is rebuilt from the saved q, k, v rather than kept per layer.
                var (qkv, dqkv) = HyperScratch(N);
                GroupedHeads.Expand(be, qkv, x.Q, x.K, x.V, N, NH, NKV, hd);
                be.Zero(dqkv);
                ((IHyperAttentionBackend)be).HyperAttentionBackward(dqkv, d.DAtty, qkv, x.Atty, x.Lse, _hyper.Plan(l, T, NH), B, T, Q, NH);
                GroupedHeads.Reduce(be, d.DQ, d.DK, d.DV, dqkv, N, NH, NKV, hd);
            }
            else
                be.GroupedQueryAttentionBackward(d.DQ, d.DK, d.DV, d.DAtty, x.Q, x.K, x.V, x.Atty, x.Lse, B, T, NH, NKV, hd);
            be.Zero(d.DQRaw);
            be.Zero(d.DKRaw);
            be.RopeBackward(d.DQRaw, d.DQ, Cos, Sin, B, T, NH, hd, 0);
            be.RopeBackward(d.DKRaw, d.DK, Cos, Sin, B, T, NKV, hd, 0);
            TensorView dq = d.DQRaw, dk = d.DKRaw;
            if (c.QkNorm)
            {
                be.Zero(d.DQ);
                be.Zero(d.DK);
                be.RmsNormBackward(d.DQ, G("qnormw"), d.DQRaw, x.QRaw, W("qnormw"), x.QRstd, N * NH, hd);
                be.RmsNormBackward(d.DK, G("knormw"), d.DKRaw, x.KRaw, W("knormw"), x.KRstd, N * NKV, hd);
                (dq, dk) = (d.DQ, d.DK);
            }
            be.Zero(d.DLn);
            be.MatmulBackward(d.DLn, G("qw"), G("qb"), dq, x.Ln1, W("qw"), N, C, Q);
            be.MatmulBackward(d.DLn, G("kw"), G("kb"), dk, x.Ln1, W("kw"), N, C, KV);
            be.MatmulBackward(d.DLn, G("vw"), G("vb"), d.DV, x.Ln1, W("vw"), N, C, KV);
            be.RmsNormBackward(d.DResidual, G("ln1w"), d.DLn, residualIn, W("ln1w"), x.Ln1Rstd, N, C);
            BlockGradientsDone?.Invoke(l);
        }
        if (_trainLast is null)
        {
            var scratch = _positions!.Slice((long)T * C, (long)T * C); // the zero table's gradient, unused
            be.EncoderBackward(Tensor(g, "embed"), scratch, d.DResidual, _tokens, B, T, C);
        }
    }

    /// <inheritdoc />
    public double GradientNorm() => AdamWOptimizer.GradientNorm(Backend, Layout, Gradients, _trainLast);

    /// <inheritdoc />
    public double Update(float lr, AdamWSettings s, double? gradNorm = null)
    {
        LowPrecision.RequireFp32Weights(this, "train it");
        var (m, v) = OptimizerState();
        double norm = gradNorm ?? GradientNorm();
        Step++;
        AdamWOptimizer.Update(Backend, Layout, Parameters, Gradients, m, v, lr, s, Step, norm, _trainLast);
        return norm;
    }

    /// <inheritdoc />
    public (TensorView M, TensorView V) OptimizerState()
    {
        _m ??= Backend.Allocate(Layout.Total);
        _v ??= Backend.Allocate(Layout.Total);
        return (_m.All, _v.All);
    }

    /// <inheritdoc />
    public IDecoder CreateDecoder(int batch, int maxT = 0) => new LlamaDecoder(this, batch, maxT);

    /// <inheritdoc />
    public void Dispose()
    {
        _params.Dispose();
        _grads.Dispose();
        _rope.Dispose();
        _m?.Dispose();
        _v?.Dispose();
        _positions?.Dispose();
        _hyperScratch?.Dispose();
        _acts?.Dispose();
    }
}
