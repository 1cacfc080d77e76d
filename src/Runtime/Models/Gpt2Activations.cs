using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// The activation arena for one (B, T): every tensor the backward needs, kept per layer, plus a
/// single layer's worth of gradient scratch (the backward walks the layers in reverse and reuses
/// it). One allocation; the views below are carved out of it in order.
/// </summary>
public sealed class Gpt2Activations : IDisposable
{
    private readonly DeviceBuffer _buffer;
    private readonly long _perLayer;
    private readonly long _layerBase;
    private readonly int _B, _T, _C, _NH;

    /// <summary>Batch size and sequence length this arena was sized for.</summary>
    public int B => _B;

    /// <summary>Sequence length this arena was sized for.</summary>
    public int T => _T;

    /// <summary>Floats allocated.</summary>
    public long Length => _buffer.Length;

    // Whole-model tensors.
    /// <summary>encoded [B,T,C]: token + position embedding, the residual stream's start.</summary>
    public TensorView Encoded { get; }
    /// <summary>lnf [B,T,C]: final layernorm output.</summary>
    public TensorView Lnf { get; }
    /// <summary>lnf_mean [B,T].</summary>
    public TensorView LnfMean { get; }
    /// <summary>lnf_rstd [B,T].</summary>
    public TensorView LnfRstd { get; }
    /// <summary>logits [B,T,Vp] (the padded vocabulary: only the first V of a row are logits); after a forward with targets they are overwritten by the probabilities, then by their gradient.</summary>
    public TensorView Logits { get; }
    /// <summary>losses [B,T]: per-token cross-entropy.</summary>
    public TensorView Losses { get; }

    // Gradient scratch, one layer's worth.
    /// <summary>dresidual [B,T,C]: gradient of the residual stream, carried down through the layers.</summary>
    public TensorView DResidual { get; }
    /// <summary>dln [B,T,C]: gradient of a layernorm output (ln_f, ln_2 and ln_1 in turn).</summary>
    public TensorView DLn { get; }
    /// <summary>datty [B,T,C]: gradient of the attention output.</summary>
    public TensorView DAtty { get; }
    /// <summary>dqkv [B,T,3C].</summary>
    public TensorView DQkv { get; }
    /// <summary>dfch [B,T,4C]: gradient of the MLP's pre-activation.</summary>
    public TensorView DFch { get; }
    /// <summary>dfch_gelu [B,T,4C]: gradient of the MLP's activation.</summary>
    public TensorView DFchGelu { get; }

    /// <summary>Allocates the arena on <paramref name="backend"/>.</summary>
    public Gpt2Activations(IBackend backend, Gpt2Config config, int B, int T)
    {
        int C = config.NEmbd, L = config.NLayer, NH = config.NHead, Vp = config.PaddedVocabSize;
        (_B, _T, _C, _NH) = (B, T, C, NH);
        long BT = (long)B * T;
        // Per layer: ln1, ln1 stats, qkv, atty, lse, attproj, residual2, ln2, ln2 stats, fch, fch_gelu, fcproj, residual3.
        _perLayer = BT * C * 2 + BT * 2 + BT * 3 * C + BT * C + (long)B * NH * T + BT * C * 2 + BT * C + BT * 2 + BT * 4 * C * 2 + BT * C * 2;
        long whole = BT * C * 2 + BT * 2 + BT * Vp + BT;
        long scratch = BT * C * 3 + BT * 3 * C + BT * 4 * C * 2;
        _buffer = backend.Allocate(whole + scratch + _perLayer * L);

        long at = 0;
        TensorView Next(long n) { var v = _buffer.Slice(at, n); at += n; return v; }
        // Logits first: the head's GEMMs take them as an operand with leading dimension Vp, and the
        // device kernels load 4 floats at a time only from 16-byte aligned rows.
        Logits = Next(BT * Vp);
        Encoded = Next(BT * C);
        Lnf = Next(BT * C);
        LnfMean = Next(BT);
        LnfRstd = Next(BT);
        Losses = Next(BT);
        DResidual = Next(BT * C);
        DLn = Next(BT * C);
        DAtty = Next(BT * C);
        DQkv = Next(BT * 3 * C);
        DFch = Next(BT * 4 * C);
        DFchGelu = Next(BT * 4 * C);
        _layerBase = at;
    }

    /// <summary>The saved tensors of one transformer block.</summary>
    public readonly record struct Layer(
        TensorView Ln1, TensorView Ln1Mean, TensorView Ln1Rstd, TensorView Qkv, TensorView Atty, TensorView Lse,
        TensorView AttProj, TensorView Residual2, TensorView Ln2, TensorView Ln2Mean, TensorView Ln2Rstd,
        TensorView Fch, TensorView FchGelu, TensorView FcProj, TensorView Residual3);

    /// <summary>Views of layer <paramref name="l"/>'s tensors (shapes as in <see cref="Layer"/>'s order:
    /// [B,T,C], [B,T], [B,T], [B,T,3C], [B,T,C], [B,NH,T], [B,T,C], [B,T,C], [B,T,C], [B,T], [B,T], [B,T,4C], [B,T,4C], [B,T,C], [B,T,C]).</summary>
    public Layer this[int l]
    {
        get
        {
            long BT = (long)_B * _T, C = _C;
            long at = _layerBase + _perLayer * l;
            TensorView Next(long n) { var v = _buffer.Slice(at, n); at += n; return v; }
            return new Layer(
                Ln1: Next(BT * C), Ln1Mean: Next(BT), Ln1Rstd: Next(BT), Qkv: Next(BT * 3 * C), Atty: Next(BT * C),
                Lse: Next((long)_B * _NH * _T), AttProj: Next(BT * C), Residual2: Next(BT * C), Ln2: Next(BT * C),
                Ln2Mean: Next(BT), Ln2Rstd: Next(BT), Fch: Next(BT * 4 * C), FchGelu: Next(BT * 4 * C),
                FcProj: Next(BT * C), Residual3: Next(BT * C));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _buffer.Dispose();
}
