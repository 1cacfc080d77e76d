using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// Incremental inference for a <see cref="Gpt2"/>: a key/value cache [B,maxT,C] per layer for k and
/// for v, so each new token costs one pass over the weights instead of a pass over the whole
/// prefix. Prefill is <see cref="Feed"/> with the prompt (all its tokens in one pass), decoding is
/// <see cref="Feed"/> with one token per row.
/// <para>
/// It shares the model's parameters (a training step in between changes what it computes; the
/// cache then holds stale keys until <see cref="Reset"/>) and owns, on the model's backend, the
/// cache and one layer's worth of activations (<see cref="Gpt2DecoderActivations"/>). The B rows
/// advance together: every row gets Tq tokens per feed, so prompts of different lengths are run
/// as separate decoders (or padded by the caller).
/// </para>
/// <para>
/// Layers that use HyperAttention decode under its decode rule (an exact window of min_seq_len
/// keys, the query's LSH block among the older keys kept in bucket order, and sampled keys; see
/// <see cref="Kernels.Reference.HyperAttentionKv"/>), prefill included, with the settings the
/// model had when the decoder was made.
/// </para>
/// </summary>
public sealed class Gpt2Decoder : IDecoder
{
    private readonly Gpt2 _model;
    private readonly DeviceBuffer _cache;        // [L][2][B,maxT,C]: layer l's keys, then its values
    private readonly TensorView _wte, _wpe, _lnfw, _lnfb;
    private Gpt2DecoderActivations? _acts;       // sized for the most rows fed so far
    private readonly Kernels.Reference.HyperAttentionKvState?[] _hyper; // per layer: bucket-ordered keys of HyperAttention layers

    /// <summary>Rows decoded together (B).</summary>
    public int Batch { get; }

    /// <summary>Tokens per row in the cache: the position the next fed token takes.</summary>
    public int Position { get; private set; }

    /// <summary>Positions the cache holds (at most the model's n_positions).</summary>
    public int MaxT { get; }

    /// <summary>The model whose parameters this decoder runs.</summary>
    public Gpt2 Model => _model;

    /// <summary>
    /// A decoder for <paramref name="batch"/> rows over <paramref name="model"/>, with a cache of
    /// <paramref name="maxT"/> positions (0: the model's n_positions, which also bounds it, since
    /// positions index the position embedding).
    /// </summary>
    public Gpt2Decoder(Gpt2 model, int batch, int maxT = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var cfg = model.Config;
        if (maxT == 0) maxT = cfg.NPositions;
        if (maxT < 1 || maxT > cfg.NPositions)
            throw new ArgumentOutOfRangeException(nameof(maxT), $"a cache of {maxT} positions is outside 1..n_positions ({cfg.NPositions})");
        _model = model;
        Batch = batch;
        MaxT = maxT;
        int C = cfg.NEmbd, L = cfg.NLayer;
        _cache = model.Backend.Allocate(2L * L * batch * maxT * C);

        var p = model.Parameters;
        // Every weight and cached key is read once per token: 2 MiB pages spare the TLB misses and
        // prefetcher restarts of 4 KiB ones (see HugePages; a hint, contents are untouched).
        HugePages.Advise(p);
        HugePages.Advise(_cache.All);
        _hyper = new Kernels.Reference.HyperAttentionKvState?[L];
        if (model.HyperAttention is { } h)
            for (int l = 0; l < L; l++)
                if (h.Uses(l)) _hyper[l] = h.KvState(l, batch, cfg.NHead, maxT);
        _wte = model.Tensor(p, "wte");
        _wpe = model.Tensor(p, "wpe");
        _lnfw = model.Tensor(p, "lnfw");
        _lnfb = model.Tensor(p, "lnfb");
    }

    /// <summary>Empties the cache (the next token takes position 0). Nothing is cleared: cached rows are only read after being written.</summary>
    public void Reset()
    {
        Position = 0;
        foreach (var h in _hyper) h?.Reset();
    }

    /// <summary>Whether <paramref name="extraTokens"/> more tokens per row fit in the cache.</summary>
    public bool Fits(int extraTokens) => extraTokens >= 0 && (long)Position + extraTokens <= MaxT;

    /// <summary>
    /// Runs tokens[B,Tq] (row b's new tokens at positions Position..Position+Tq−1) through the
    /// model, appending their keys and values to the cache, and writes lastLogits[B,V]: the logits
    /// after each row's last new token (only that position goes through ln_f and the output
    /// projection). Advances <see cref="Position"/> by Tq.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tokens would go past <see cref="MaxT"/> positions (see <see cref="Fits"/>).</exception>
    public void Feed(ReadOnlySpan<int> tokens, int Tq, Span<float> lastLogits)
    {
        var cfg = _model.Config;
        int B = Batch, C = cfg.NEmbd, NH = cfg.NHead, V = cfg.VocabSize, L = cfg.NLayer;
        ArgumentOutOfRangeException.ThrowIfLessThan(Tq, 1);
        if (tokens.Length != (long)B * Tq)
            throw new ArgumentException($"{tokens.Length} tokens given for B={B}, Tq={Tq}", nameof(tokens));
        if (lastLogits.Length != (long)B * V)
            throw new ArgumentException($"lastLogits has {lastLogits.Length} floats, expected B·V = {(long)B * V}", nameof(lastLogits));
        foreach (int t in tokens)
            if ((uint)t >= (uint)V) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{V - 1})");
        if (!Fits(Tq))
            throw new InvalidOperationException(
                $"feeding {Tq} token(s) at position {Position} exceeds the context of {MaxT} tokens (Reset and feed a shorter window)");

        int N = B * Tq, pos = Position;
        if (_acts is null || _acts.Rows < N)
        {
            _acts?.Dispose();
            _acts = new Gpt2DecoderActivations(_model.Backend, cfg, B, N);
        }
        var a = _acts;
        var be = _model.Backend;
        float eps = cfg.LayerNormEpsilon;
        long NC = (long)N * C;
        TensorView x = a.Residual.Slice(0, NC), x2 = a.Residual2.Slice(0, NC), ln = a.Ln.Slice(0, NC);
        TensorView mean = a.LnMean.Slice(0, N), rstd = a.LnRstd.Slice(0, N), qkv = a.Qkv.Slice(0, 3 * NC);
        TensorView atty = a.Atty.Slice(0, NC), proj = a.Proj.Slice(0, NC), fch = a.Fch.Slice(0, 4 * NC), fchGelu = a.FchGelu.Slice(0, 4 * NC);
        long cacheLen = (long)B * MaxT * C;

        // The rows of wpe from this feed's first position: the encoder adds row t of what it is given to token t.
        be.EncoderForward(x, tokens, _wte, _wpe.Slice((long)pos * C, (long)Tq * C), B, Tq, C);
        // The block (Gpt2.BlockForward) over buffers shared by every layer: both norms write ln,
        // both projections write proj, and the output goes back into x, the input, once read.
        var shared = new Gpt2Activations.Layer(
            Ln1: ln, Ln1Mean: mean, Ln1Rstd: rstd, Qkv: qkv, Atty: atty, Lse: TensorView.Empty, AttProj: proj, Residual2: x2,
            Ln2: ln, Ln2Mean: mean, Ln2Rstd: rstd, Fch: fch, FchGelu: fchGelu, FcProj: proj, Residual3: x);
        var attention = new CachedAttention(_cache.All, cacheLen, _hyper, B, Tq, pos, MaxT, C, NH);
        var blocks = _model.Blocks;
        for (int l = 0; l < L; l++)
            Gpt2.BlockForward(be, blocks[l], shared, x, N, C, eps, l, ref attention);

        // Only each row's last position needs logits: gather those rows, then ln_f and the tied
        // output projection on B rows instead of B·Tq.
        TensorView last = x;
        if (B == 1) last = x.Slice((long)(Tq - 1) * C, C);
        else if (Tq > 1)
        {
            last = a.Last;
            for (int b = 0; b < B; b++)
                be.Copy(x.Slice(((long)b * Tq + Tq - 1) * C, C), last.Slice((long)b * C, C));
        }
        be.LayerNormForward(a.Lnf, a.LnfMean, a.LnfRstd, last, _lnfw, _lnfb, B, C, eps);
        be.MatmulForward(a.Logits, a.Lnf, _wte, TensorView.Empty, B, C, cfg.PaddedVocabSize);
        VocabularyPadding.DownloadRows(be, a.Logits, lastLogits, B, V, cfg.PaddedVocabSize);
        Position = pos + Tq;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cache.Dispose();
        _acts?.Dispose();
    }

    /// <summary>
    /// Attention of the Tq new tokens per row against the cache: their keys and values are appended
    /// at positions pos..pos+Tq−1 of layer l's slice ([L][2][B,maxT,C]: keys, then values).
    /// </summary>
    private readonly struct CachedAttention(TensorView cache, long cacheLen, Kernels.Reference.HyperAttentionKvState?[] hyper,
        int B, int Tq, int pos, int maxT, int C, int NH) : Gpt2.IBlockAttention
    {
        public void Attend(IBackend be, int layer, in Gpt2Activations.Layer x)
        {
            TensorView kCache = cache.Slice(2 * layer * cacheLen, cacheLen), vCache = cache.Slice((2 * layer + 1) * cacheLen, cacheLen);
            if (hyper[layer] is { } h)
                ((IHyperAttentionBackend)be).HyperAttentionKvForward(x.Atty, kCache, vCache, x.Qkv, h, B, Tq, pos, maxT, C, NH);
            else
                be.AttentionKvForward(x.Atty, kCache, vCache, x.Qkv, B, Tq, pos, maxT, C, NH);
        }
    }
}
