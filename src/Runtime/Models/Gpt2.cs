using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// GPT-2, written once against <see cref="IBackend"/> in llm.c's shape: one arena of parameters,
/// one of gradients with the same layout, AdamW moments alike, and an activation arena sized for
/// the current (B, T). Forward to the loss, backward, update.
/// </summary>
public sealed class Gpt2 : ICausalLm
{
    private readonly DeviceBuffer _params;
    private readonly DeviceBuffer _grads;
    private DeviceBuffer? _m, _v;
    private Gpt2Activations? _acts;
    private int[] _tokens = [];
    private int[] _targets = [];
    private float[] _losses = [];
    private int _validTargets;

    /// <summary>Hyperparameters.</summary>
    public Gpt2Config Config { get; }
    IModelConfig ICausalLm.Config => Config;
    /// <summary>Where the ops run.</summary>
    public IBackend Backend { get; }
    /// <summary>Where each tensor sits in the parameter (and gradient) arena.</summary>
    public ParameterLayout Layout { get; }
    /// <summary>Optimizer steps taken (AdamW's bias correction uses it).</summary>
    public int Step { get; set; }

    /// <summary>The layers that use HyperAttention and its settings; null: exact attention everywhere.</summary>
    public HyperAttentionSettings? HyperAttention
    {
        get => _hyper;
        set
        {
            if (value is not null && (value.LayerCount != Config.NLayer || value.HeadSize != Config.NEmbd / Config.NHead))
                throw new ArgumentException($"hyper attention settings for {value.LayerCount} layers of head size {value.HeadSize} do not fit this model ({Config.NLayer} layers, head size {Config.NEmbd / Config.NHead})");
            if (value is not null && !Backend.Supports(Op.HyperAttention))
                throw new NotSupportedException($"the {Backend.Name} backend does not run HyperAttention (the cpu and reference backends do)");
            _hyper = value;
        }
    }

    private HyperAttentionSettings? _hyper;

    /// <summary>
    /// Null (the default): every parameter trains. N (1..n_layer): only the last N transformer blocks and
    /// the final layernorm train. The token embedding stays frozen because it is also the output projection
    /// (tied weights): training it would change the input end of the network as well; the position embedding
    /// stays frozen with it. <see cref="Backward"/> then stops at the first trainable block (the blocks below
    /// get no gradient at all) and <see cref="Update"/> touches only the trainable tensors.
    /// </summary>
    public int? TrainLastBlocks
    {
        get => _trainLast;
        set
        {
            if (value is int n && (n < 1 || n > Config.NLayer))
                throw new ArgumentOutOfRangeException(nameof(value), $"the model has {Config.NLayer} blocks; cannot train the last {n}");
            _trainLast = value;
        }
    }
    private int? _trainLast;

    /// <summary>The parameter arena.</summary>
    public TensorView Parameters => _params.All;
    /// <summary>The gradient arena (same layout as <see cref="Parameters"/>).</summary>
    public TensorView Gradients => _grads.All;
    /// <summary>The activations of the last forward (null before the first).</summary>
    public Gpt2Activations? Activations => _acts;

    /// <inheritdoc />
    public TensorView Logits => (_acts ?? throw new InvalidOperationException("no forward has run yet")).Logits;

    /// <inheritdoc />
    public IDecoder CreateDecoder(int batch, int maxT = 0) => new Gpt2Decoder(this, batch, maxT);

    /// <summary>One block's weights: views of layer l's slices of the stacked tensors.</summary>
    internal readonly record struct BlockWeights(
        TensorView Ln1w, TensorView Ln1b, TensorView Qkvw, TensorView Qkvb, TensorView AttProjw, TensorView AttProjb,
        TensorView Ln2w, TensorView Ln2b, TensorView Fcw, TensorView Fcb, TensorView FcProjw, TensorView FcProjb);

    /// <summary>Every block's weights (the parameter arena never moves, so the views are made once).</summary>
    internal BlockWeights[] Blocks => _blocks;
    private readonly BlockWeights[] _blocks;

    /// <summary>How a block's attention runs: over the whole sequence (training, evaluation) or against the KV cache (decoding).</summary>
    internal interface IBlockAttention
    {
        /// <summary>Writes x.Atty from x.Qkv for layer <paramref name="layer"/> (and x.Lse where the backward needs it).</summary>
        void Attend(IBackend be, int layer, in Gpt2Activations.Layer x);
    }

    /// <summary>
    /// One transformer block, pre-norm as GPT-2 has it: x2 = x + proj(attn(ln1(x))), out = x2 +
    /// fcproj(gelu(fc(ln2(x2)))). The one definition of the block: the training forward passes
    /// per-layer buffers (kept for the backward) and sequence attention, the decoder passes shared
    /// buffers and cached attention. <paramref name="residual"/> is the block's input [N,C]; the
    /// output goes to x.Residual3 (which may be the input's own buffer: it is read before it is written).
    /// </summary>
    internal static void BlockForward<TAttention>(IBackend be, in BlockWeights w, in Gpt2Activations.Layer x, TensorView residual,
        int N, int C, float eps, int layer, ref TAttention attention) where TAttention : struct, IBlockAttention
    {
        be.LayerNormForward(x.Ln1, x.Ln1Mean, x.Ln1Rstd, residual, w.Ln1w, w.Ln1b, N, C, eps);
        be.MatmulForward(x.Qkv, x.Ln1, w.Qkvw, w.Qkvb, N, C, 3 * C);
        attention.Attend(be, layer, x);
        be.MatmulForward(x.AttProj, x.Atty, w.AttProjw, w.AttProjb, N, C, C);
        be.ResidualForward(x.Residual2, residual, x.AttProj, N * C);
        be.LayerNormForward(x.Ln2, x.Ln2Mean, x.Ln2Rstd, x.Residual2, w.Ln2w, w.Ln2b, N, C, eps);
        be.MatmulForward(x.Fch, x.Ln2, w.Fcw, w.Fcb, N, C, 4 * C);
        be.GeluForward(x.FchGelu, x.Fch, N * 4 * C);
        be.MatmulForward(x.FcProj, x.FchGelu, w.FcProjw, w.FcProjb, N, 4 * C, C);
        be.ResidualForward(x.Residual3, x.Residual2, x.FcProj, N * C);
    }

    /// <summary>Causal attention over the whole [B,T] batch, exact or HyperAttention per layer.</summary>
    private readonly struct SequenceAttention(HyperAttentionSettings? hyper, int B, int T, int C, int NH) : IBlockAttention
    {
        public void Attend(IBackend be, int layer, in Gpt2Activations.Layer x)
        {
            if (hyper is not null && hyper.Uses(layer))
                ((IHyperAttentionBackend)be).HyperAttentionForward(x.Atty, x.Lse, x.Qkv, hyper.Plan(layer, T, NH), B, T, C, NH);
            else
                be.AttentionForward(x.Atty, x.Lse, x.Qkv, B, T, C, NH, causal: true);
        }
    }

    /// <summary>
    /// GPT-2's tensors in arena order (llm.c's): wte, wpe, then the per-block tensors stacked on L,
    /// then the final layernorm. Decay: weight decay applies to matrices (embeddings and matmul
    /// weights), not to biases and layernorm gains, as in GPT-2/nanoGPT training recipes. wte has
    /// Vp rows, the last Vp − V of them padding (see <see cref="VocabularyPadding"/>).
    /// </summary>
    public static IEnumerable<ParameterLayout.Spec> LayoutSpecs(Gpt2Config c)
    {
        int V = c.VocabSize, Vp = c.PaddedVocabSize, C = c.NEmbd, L = c.NLayer, maxT = c.NPositions;
        const LayoutPart E = LayoutPart.Embedding, Blk = LayoutPart.Block, H = LayoutPart.Head;
        // checked: a corrupt config's dimensions must fail here, not wrap (Validate reports it).
        int C3 = checked(3 * C), C4 = checked(4 * C);
        return
        [
            new("wte", [Vp, C], true, E, Vp - V), // token embedding, tied with the output projection
            new("wpe", [maxT, C], true, E),       // position embedding
            new("ln1w", [L, C], false, Blk),
            new("ln1b", [L, C], false, Blk),
            new("qkvw", [L, C3, C], true, Blk),   // q, k, v projections stacked on OC
            new("qkvb", [L, C3], false, Blk),
            new("attprojw", [L, C, C], true, Blk),
            new("attprojb", [L, C], false, Blk),
            new("ln2w", [L, C], false, Blk),
            new("ln2b", [L, C], false, Blk),
            new("fcw", [L, C4, C], true, Blk),
            new("fcb", [L, C4], false, Blk),
            new("fcprojw", [L, C, C4], true, Blk),
            new("fcprojb", [L, C], false, Blk),
            new("lnfw", [C], false, H),
            new("lnfb", [C], false, H),
        ];
    }

    /// <summary>Allocates a model with zero parameters; use <see cref="InitializeWeights"/> or <see cref="LoadParameters"/>.</summary>
    public Gpt2(Gpt2Config config, IBackend backend)
    {
        config.Validate();
        Config = config;
        Backend = backend;
        Layout = new ParameterLayout(config);
        _params = backend.Allocate(Layout.Total);
        _grads = backend.Allocate(Layout.Total);
        _blocks = new BlockWeights[config.NLayer];
        var p = Parameters;
        for (int l = 0; l < config.NLayer; l++)
            _blocks[l] = new BlockWeights(
                LayerTensor(p, "ln1w", l), LayerTensor(p, "ln1b", l), LayerTensor(p, "qkvw", l), LayerTensor(p, "qkvb", l),
                LayerTensor(p, "attprojw", l), LayerTensor(p, "attprojb", l), LayerTensor(p, "ln2w", l), LayerTensor(p, "ln2b", l),
                LayerTensor(p, "fcw", l), LayerTensor(p, "fcb", l), LayerTensor(p, "fcprojw", l), LayerTensor(p, "fcprojb", l));
    }

    /// <summary>A view of one named tensor of an arena laid out as <see cref="Layout"/>.</summary>
    public TensorView Tensor(TensorView arena, string name)
    {
        var e = Layout[name];
        return arena.Slice(e.Offset, e.Count);
    }

    /// <summary>Layer <paramref name="l"/>'s slice of a stacked per-layer tensor.</summary>
    private TensorView LayerTensor(TensorView arena, string name, int l)
    {
        var (offset, count) = Layout.LayerRange(Layout[name], l);
        return arena.Slice(offset, count);
    }

    /// <summary>
    /// GPT-2's initialisation from a seed: weights ~ N(0, 0.02), the projections into the
    /// residual stream ~ N(0, 0.02/sqrt(2L)) (GPT-2 paper, section 2.3), biases 0, layernorm gains 1.
    /// </summary>
    public void InitializeWeights(ulong seed)
    {
        var rng = new Rng(seed);
        var host = new float[Layout.Total];
        float projStd = 0.02f / MathF.Sqrt(2f * Config.NLayer);
        foreach (var e in Layout.Entries)
        {
            var span = host.AsSpan((int)e.Offset, (int)e.Stored); // pad rows stay zero
            switch (e.Name)
            {
                case "ln1w" or "ln2w" or "lnfw": span.Fill(1f); break;
                case "attprojw" or "fcprojw": for (int i = 0; i < span.Length; i++) span[i] = (float)rng.NextNormal() * projStd; break;
                case var _ when e.Decay: for (int i = 0; i < span.Length; i++) span[i] = (float)rng.NextNormal() * 0.02f; break;
                default: span.Clear(); break;
            }
        }
        LoadParameters(host);
    }

    /// <summary>Copies a host arena (laid out as <see cref="Layout"/>) into the parameters.</summary>
    public void LoadParameters(ReadOnlySpan<float> arena) => Backend.Upload(arena, Parameters);

    /// <summary>Copies the parameters out to a host arena.</summary>
    public float[] ReadParameters()
    {
        var host = new float[Layout.Total];
        Backend.Download(Parameters, host);
        return host;
    }

    /// <summary>Copies the gradients out to a host arena.</summary>
    public float[] ReadGradients()
    {
        var host = new float[Layout.Total];
        Backend.Download(Gradients, host);
        return host;
    }

    /// <summary>
    /// Runs the model on tokens [B,T]. With targets [B,T] it returns the mean cross-entropy over
    /// the targets that are not negative, and the logits buffer [B·T, Vp] then holds probabilities;
    /// without targets it returns NaN and leaves the logits.
    /// </summary>
    public float Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int B, int T)
    {
        int C = Config.NEmbd, L = Config.NLayer, NH = Config.NHead, V = Config.VocabSize, Vp = Config.PaddedVocabSize;
        ForwardInput.Check(tokens, targets, B, T, Config.NPositions, V, "n_positions");

        if (_acts is null || _acts.B != B || _acts.T != T)
        {
            _acts?.Dispose();
            _acts = new Gpt2Activations(Backend, Config, B, T);
        }
        // Kept for the backward; reused across steps of the same shape (no per-step allocation).
        ForwardInput.Keep(ref _tokens, tokens);
        ForwardInput.Keep(ref _targets, targets);

        var be = Backend;
        var p = Parameters;
        var a = _acts;
        int N = B * T;
        float eps = Config.LayerNormEpsilon;

        be.EncoderForward(a.Encoded, tokens, Tensor(p, "wte"), Tensor(p, "wpe"), B, T, C);
        TensorView residual = a.Encoded;
        var attention = new SequenceAttention(_hyper, B, T, C, NH);
        for (int l = 0; l < L; l++)
        {
            var x = a[l];
            BlockForward(be, _blocks[l], x, residual, N, C, eps, l, ref attention);
            residual = x.Residual3;
        }
        be.LayerNormForward(a.Lnf, a.LnfMean, a.LnfRstd, residual, Tensor(p, "lnfw"), Tensor(p, "lnfb"), N, C, eps);
        // Tied embeddings: the output projection is wte itself, no bias; all Vp rows, so that the
        // GEMM's output rows are Vp long (its pad columns are zero, and the loss never reads them).
        be.MatmulForward(a.Logits, a.Lnf, Tensor(p, "wte"), TensorView.Empty, N, C, Vp);

        if (targets.IsEmpty)
        {
            _validTargets = 0;
            return float.NaN;
        }
        be.SoftmaxCrossEntropyForward(a.Losses, a.Logits, a.Logits, targets, N, V, Vp);
        return ForwardInput.MeanLoss(be, a.Losses, targets, ref _losses, out _validTargets);
    }

    /// <summary>Sets the gradients that train to zero (before a backward that starts a new accumulation); with <see cref="TrainLastBlocks"/> frozen tensors are left alone.</summary>
    public void ZeroGradients()
    {
        AdamWOptimizer.ZeroGradients(Backend, Layout, Gradients, _trainLast);
        // The tied output projection's gradient (wte's) is written by the backward even when frozen.
        if (_trainLast is not null) Backend.Zero(Tensor(Gradients, "wte"));
    }

    /// <inheritdoc />
    public Action<int>? BlockGradientsDone { get; set; }

    /// <summary>
    /// Backpropagates the mean loss of the last forward, accumulating into <see cref="Gradients"/>
    /// (call <see cref="ZeroGradients"/> first unless accumulating over micro-batches; pass
    /// <paramref name="lossScale"/> = 1/steps to average them).
    /// </summary>
    public void Backward(float lossScale = 1f)
    {
        if (_acts is null || _targets.Length == 0)
            throw new InvalidOperationException("Backward needs a forward with targets first");
        int B = _acts.B, T = _acts.T, N = B * T;
        int C = Config.NEmbd, L = Config.NLayer, NH = Config.NHead, V = Config.VocabSize, Vp = Config.PaddedVocabSize;
        var be = Backend;
        var p = Parameters;
        var g = Gradients;
        var a = _acts;

        // The loss is a mean over valid targets, so each row's upstream gradient is 1/count.
        float dloss = _validTargets == 0 ? 0f : lossScale / _validTargets;
        // dlogits' pad columns are zero, so wte's pad rows get no gradient from the head.
        be.SoftmaxCrossEntropyBackward(a.Logits, a.Logits, _targets, dloss, N, V, Vp);
        be.Zero(a.DLn);
        be.MatmulBackward(a.DLn, Tensor(g, "wte"), TensorView.Empty, a.Logits, a.Lnf, Tensor(p, "wte"), N, C, Vp);
        // dresidual is the gradient of the residual stream: every layer adds its branches' input
        // gradients into it, so no residual op is needed on the way down.
        be.Zero(a.DResidual);
        var last = a[L - 1];
        be.LayerNormBackward(a.DResidual, Tensor(g, "lnfw"), Tensor(g, "lnfb"), a.DLn, last.Residual3, Tensor(p, "lnfw"), a.LnfMean, a.LnfRstd, N, C);

        // Frozen blocks below the trainable ones need no gradient, so the backward pass ends above them.
        int lowest = _trainLast is int n ? L - n : 0;
        for (int l = L - 1; l >= lowest; l--)
        {
            var x = a[l];
            TensorView residualIn = l == 0 ? a.Encoded : a[l - 1].Residual3;

            // MLP branch: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2)))).
            be.Zero(a.DFchGelu);
            be.MatmulBackward(a.DFchGelu, LayerTensor(g, "fcprojw", l), LayerTensor(g, "fcprojb", l), a.DResidual, x.FchGelu, LayerTensor(p, "fcprojw", l), N, 4 * C, C);
            be.Zero(a.DFch);
            be.GeluBackward(a.DFch, x.Fch, a.DFchGelu, N * 4 * C);
            be.Zero(a.DLn);
            be.MatmulBackward(a.DLn, LayerTensor(g, "fcw", l), LayerTensor(g, "fcb", l), a.DFch, x.Ln2, LayerTensor(p, "fcw", l), N, C, 4 * C);
            be.LayerNormBackward(a.DResidual, LayerTensor(g, "ln2w", l), LayerTensor(g, "ln2b", l), a.DLn, x.Residual2, LayerTensor(p, "ln2w", l), x.Ln2Mean, x.Ln2Rstd, N, C);

            // Attention branch: residual2 = residualIn + attproj(attention(qkv(ln1(residualIn)))).
            be.Zero(a.DAtty);
            be.MatmulBackward(a.DAtty, LayerTensor(g, "attprojw", l), LayerTensor(g, "attprojb", l), a.DResidual, x.Atty, LayerTensor(p, "attprojw", l), N, C, C);
            be.Zero(a.DQkv);
            if (_hyper is not null && _hyper.Uses(l))
                ((IHyperAttentionBackend)be).HyperAttentionBackward(a.DQkv, a.DAtty, x.Qkv, x.Atty, x.Lse, _hyper.Plan(l, T, NH), B, T, C, NH);
            else
                be.AttentionBackward(a.DQkv, a.DAtty, x.Qkv, x.Atty, x.Lse, B, T, C, NH, causal: true);
            be.Zero(a.DLn);
            be.MatmulBackward(a.DLn, LayerTensor(g, "qkvw", l), LayerTensor(g, "qkvb", l), a.DQkv, x.Ln1, LayerTensor(p, "qkvw", l), N, C, 3 * C);
            be.LayerNormBackward(a.DResidual, LayerTensor(g, "ln1w", l), LayerTensor(g, "ln1b", l), a.DLn, residualIn, LayerTensor(p, "ln1w", l), x.Ln1Mean, x.Ln1Rstd, N, C);
            BlockGradientsDone?.Invoke(l);
        }
        if (_trainLast is null) be.EncoderBackward(Tensor(g, "wte"), Tensor(g, "wpe"), a.DResidual, _tokens, B, T, C);
    }

    /// <summary>The global L2 norm of the gradients of the trainable parameters (see <see cref="TrainLastBlocks"/>).</summary>
    public double GradientNorm() => AdamWOptimizer.GradientNorm(Backend, Layout, Gradients, _trainLast);


    /// <summary>
    /// One AdamW step at learning rate <paramref name="lr"/>, clipping the global gradient norm
    /// as torch.nn.utils.clip_grad_norm_ does. Returns the norm before clipping; a caller that has
    /// already computed it (<see cref="GradientNorm"/>) passes it in to save a pass over the gradients.
    /// </summary>
    public double Update(float lr, AdamWSettings s, double? gradNorm = null)
    {
        _m ??= Backend.Allocate(Layout.Total);
        _v ??= Backend.Allocate(Layout.Total);
        double norm = gradNorm ?? GradientNorm();
        Step++;
        AdamWOptimizer.Update(Backend, Layout, Parameters, Gradients, _m.All, _v.All, lr, s, Step, norm, _trainLast);
        return norm;
    }

    /// <summary>The AdamW moments (m, then v), allocated on first use, for checkpoints.</summary>
    public (TensorView M, TensorView V) OptimizerState()
    {
        _m ??= Backend.Allocate(Layout.Total);
        _v ??= Backend.Allocate(Layout.Total);
        return (_m.All, _v.All);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _params.Dispose();
        _grads.Dispose();
        _m?.Dispose();
        _v?.Dispose();
        _acts?.Dispose();
    }
}
