using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// Incremental inference for a <see cref="Llama"/>: per layer a key cache and a value cache
/// [B,maxT,NKV·hd] that hold only the key/value heads (grouped-query attention shares them), and
/// one layer's worth of activations shared by every layer. The block is <see cref="Llama.BlockForward"/>.
/// <para>
/// Layers that use HyperAttention decode under its decode rule (an exact window of min_seq_len
/// keys, the query's LSH block among the older rotated keys kept in bucket order, and sampled
/// keys; see <see cref="Kernels.Reference.HyperAttentionKv"/>), prefill included, with the
/// settings the model had when the decoder was made; their caches are <see cref="LlamaHyperDecoding"/>'s.
/// </para>
/// </summary>
public sealed class LlamaDecoder : IDecoder
{
    private readonly Llama _model;
    private readonly DeviceBuffer _cache;  // [exact layers][2][B,maxT,KV]
    private readonly int[] _slot;          // per layer: its index among the exact layers (-1: HyperAttention, cached by _hyper)
    private readonly long _cacheLen;
    private LlamaActivations? _acts;      // sized for the last Tq fed
    private readonly LlamaHyperDecoding? _hyper; // the HyperAttention layers' caches and states

    /// <inheritdoc />
    public int Batch { get; }
    /// <inheritdoc />
    public int Position { get; private set; }
    /// <inheritdoc />
    public int MaxT { get; }

    /// <summary>A decoder of <paramref name="batch"/> rows with a cache of <paramref name="maxT"/> positions (0: the model's context).</summary>
    public LlamaDecoder(Llama model, int batch, int maxT = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        int context = ((IModelConfig)model.Config).Context;
        if (maxT == 0) maxT = context;
        if (maxT < 1 || maxT > context)
            throw new ArgumentOutOfRangeException(nameof(maxT), $"a cache of {maxT} positions is outside 1..{context} (the model's context)");
        _model = model;
        Batch = batch;
        MaxT = maxT;
        var c = model.Config;
        _cacheLen = (long)batch * maxT * c.KvHeads * c.HeadDim;
        if (model.HyperAttention is { } h) _hyper = new LlamaHyperDecoding(model, h, batch, maxT);
        _slot = new int[c.NumHiddenLayers];
        int exact = 0;
        for (int l = 0; l < _slot.Length; l++) _slot[l] = _hyper is not null && _hyper.Uses(l) ? -1 : exact++;
        _cache = model.Backend.Allocate(2 * exact * _cacheLen);
        HugePages.Advise(model.Parameters);
        HugePages.Advise(_cache.All);
    }

    /// <inheritdoc />
    public void Reset()
    {
        Position = 0;
        _hyper?.Reset();
    }

    /// <inheritdoc />
    public bool Fits(int extraTokens) => extraTokens >= 0 && (long)Position + extraTokens <= MaxT;

    /// <inheritdoc />
    public void Feed(ReadOnlySpan<int> tokens, int Tq, Span<float> lastLogits)
    {
        var c = _model.Config;
        int B = Batch, C = c.HiddenSize, V = c.VocabSize;
        ArgumentOutOfRangeException.ThrowIfLessThan(Tq, 1);
        if (tokens.Length != (long)B * Tq) throw new ArgumentException($"{tokens.Length} tokens given for B={B}, Tq={Tq}", nameof(tokens));
        if (lastLogits.Length != (long)B * V) throw new ArgumentException($"lastLogits has {lastLogits.Length} floats, expected B·V = {(long)B * V}", nameof(lastLogits));
        foreach (int t in tokens)
            if ((uint)t >= (uint)V) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{V - 1})");
        if (!Fits(Tq))
            throw new InvalidOperationException($"feeding {Tq} token(s) at position {Position} exceeds the context of {MaxT} tokens (Reset and feed a shorter window)");
        if (_acts is null || _acts.T != Tq)
        {
            _acts?.Dispose();
            _acts = new LlamaActivations(_model.Backend, c, B, Tq, rowsOnly: true);
        }
        var a = _acts;
        var be = _model.Backend;
        var p = _model.Parameters;
        int N = B * Tq, pos = Position;
        TensorView x = a.Encoded;
        // The encoder adds a position row; this family has none, so it is given zeros (the Lnf buffer, cleared).
        TensorView zeros = a.Lnf.Slice(0, (long)Tq * C);
        be.Zero(zeros);
        be.EncoderForward(x, tokens, _model.Tensor(p, "embed"), zeros, B, Tq, C);
        var shared = a[0] with { Residual3 = x };
        var attention = new CachedAttention(c, _model.Cos, _model.Sin, _cache.All, _cacheLen, _slot, _hyper, B, Tq, pos, MaxT);
        for (int l = 0; l < c.NumHiddenLayers; l++)
            Llama.BlockForward(be, c, _model.Blocks[l], shared, x, N, l, ref attention);

        // Only each row's last position needs logits: gather those rows (into ln2, free now), then the norm and head on B rows.
        TensorView last = x.Slice((long)(Tq - 1) * C, C);
        if (B > 1)
        {
            last = shared.Ln2.Slice(0, (long)B * C);
            for (int b = 0; b < B; b++)
                be.Copy(x.Slice(((long)b * Tq + Tq - 1) * C, C), last.Slice((long)b * C, C));
        }
        int Vp = c.PaddedVocabSize;
        TensorView lnf = a.Lnf.Slice(0, (long)B * C), logits = a.Logits.Slice(0, (long)B * Vp);
        be.RmsNormForward(lnf, a.LnfRstd.Slice(0, B), last, _model.Tensor(p, "normw"), B, C, c.RmsNormEps);
        be.MatmulForward(logits, lnf, _model.Head(p), TensorView.Empty, B, C, Vp);
        VocabularyPadding.DownloadRows(be, logits, lastLogits, B, V, Vp);
        Position = pos + Tq;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cache.Dispose();
        _acts?.Dispose();
        _hyper?.Dispose();
    }

    /// <summary>Rotates the new q and k to their positions, appends k and v to layer l's cache (a HyperAttention layer's own), attends.</summary>
    private readonly struct CachedAttention(LlamaConfig c, TensorView cos, TensorView sin, TensorView cache, long cacheLen, int[] slot, LlamaHyperDecoding? hyper,
        int B, int Tq, int pos, int maxT) : Llama.IBlockAttention
    {
        public void Attend(IBackend be, int layer, in LlamaActivations.Layer x)
        {
            be.RopeForward(x.Q, x.Q, cos, sin, B, Tq, c.NumAttentionHeads, c.HeadDim, pos);
            be.RopeForward(x.K, x.K, cos, sin, B, Tq, c.KvHeads, c.HeadDim, pos);
            if (hyper is not null && hyper.Uses(layer))
            {
                hyper.Attend(be, layer, x.Atty, x.Q, x.K, x.V, Tq, pos);
                return;
            }
            long at = 2 * slot[layer] * cacheLen;
            TensorView k = cache.Slice(at, cacheLen), v = cache.Slice(at + cacheLen, cacheLen);
            be.GroupedQueryAttentionKvForward(x.Atty, k, v, x.Q, x.K, x.V, B, Tq, pos, maxT, c.NumAttentionHeads, c.KvHeads, c.HeadDim);
        }
    }
}
