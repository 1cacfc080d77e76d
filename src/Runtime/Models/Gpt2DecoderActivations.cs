using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// Scratch for <see cref="Gpt2Decoder"/>: one layer's worth of activations for up to
/// <see cref="Rows"/> token rows (N = B·Tq of one feed), reused by every layer since inference
/// keeps nothing for a backward, plus the last-position tensors [B,·]. One allocation; a feed of
/// fewer rows uses the start of each view.
/// </summary>
public sealed class Gpt2DecoderActivations : IDisposable
{
    private readonly DeviceBuffer _buffer;

    /// <summary>Token rows (B·Tq) this arena holds.</summary>
    public int Rows { get; }

    /// <summary>residual [N,C]: the residual stream (the encoder's output, then each block's).</summary>
    public TensorView Residual { get; }
    /// <summary>residual2 [N,C]: the stream between a block's attention and its MLP.</summary>
    public TensorView Residual2 { get; }
    /// <summary>ln [N,C]: the output of ln_1, then of ln_2.</summary>
    public TensorView Ln { get; }
    /// <summary>ln_mean [N] (written by the layernorm, unused here).</summary>
    public TensorView LnMean { get; }
    /// <summary>ln_rstd [N] (likewise).</summary>
    public TensorView LnRstd { get; }
    /// <summary>qkv [N,3C].</summary>
    public TensorView Qkv { get; }
    /// <summary>atty [N,C]: attention output, heads side by side.</summary>
    public TensorView Atty { get; }
    /// <summary>proj [N,C]: the output of the attention projection, then of the MLP projection.</summary>
    public TensorView Proj { get; }
    /// <summary>fch [N,4C].</summary>
    public TensorView Fch { get; }
    /// <summary>fch_gelu [N,4C].</summary>
    public TensorView FchGelu { get; }
    /// <summary>last [B,C]: the residual stream at each row's last new token.</summary>
    public TensorView Last { get; }
    /// <summary>lnf [B,C]: ln_f of <see cref="Last"/>.</summary>
    public TensorView Lnf { get; }
    /// <summary>lnf_mean [B].</summary>
    public TensorView LnfMean { get; }
    /// <summary>lnf_rstd [B].</summary>
    public TensorView LnfRstd { get; }
    /// <summary>logits [B,Vp] (the padded vocabulary: only the first V of a row are logits).</summary>
    public TensorView Logits { get; }

    /// <summary>Allocates the arena on <paramref name="backend"/> for <paramref name="rows"/> token rows of a batch of <paramref name="B"/>.</summary>
    public Gpt2DecoderActivations(IBackend backend, Gpt2Config config, int B, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, B);
        int C = config.NEmbd, Vp = config.PaddedVocabSize;
        long N = rows;
        Rows = rows;
        long total = N * C * 5 + N * 2 + N * 3 * C + N * 4 * C * 2 + (long)B * C * 2 + B * 2L + (long)B * Vp;
        _buffer = backend.Allocate(total);
        long at = 0;
        TensorView Next(long n) { var v = _buffer.Slice(at, n); at += n; return v; }
        // Logits first, 16-byte aligned with their Vp-long rows, as in the training arena (Gpt2Activations).
        Logits = Next((long)B * Vp);
        Residual = Next(N * C);
        Residual2 = Next(N * C);
        Ln = Next(N * C);
        LnMean = Next(N);
        LnRstd = Next(N);
        Qkv = Next(N * 3 * C);
        Atty = Next(N * C);
        Proj = Next(N * C);
        Fch = Next(N * 4 * C);
        FchGelu = Next(N * 4 * C);
        Last = Next((long)B * C);
        Lnf = Next((long)B * C);
        LnfMean = Next(B);
        LnfRstd = Next(B);
    }

    /// <inheritdoc />
    public void Dispose() => _buffer.Dispose();
}
