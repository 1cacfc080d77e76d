using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// The activation arena of a <see cref="Llama"/> for one (B, T): what the backward needs, per
/// layer, plus one layer's worth of gradient scratch. N = B·T rows; Q = NH·hd, KV = NKV·hd.
/// </summary>
public sealed class LlamaActivations : IDisposable
{
    private readonly DeviceBuffer _buffer;
    private readonly Layer[] _layers;

    /// <summary>Batch size.</summary>
    public int B { get; }
    /// <summary>Sequence length.</summary>
    public int T { get; }

    /// <summary>The saved tensors of one block. Q/K are after the q/k norm (when the model has one) and the rotation.</summary>
    /// <param name="Ln1">[N,C] input_layernorm output.</param>
    /// <param name="Ln1Rstd">[N].</param>
    /// <param name="QRaw">[N,Q] q projection (what the q norm reads; Q itself when there is none).</param>
    /// <param name="KRaw">[N,KV] likewise for k.</param>
    /// <param name="QRstd">[N·NH] q norm statistics (empty without q/k norm).</param>
    /// <param name="KRstd">[N·NKV].</param>
    /// <param name="Q">[N,Q] rotated queries.</param>
    /// <param name="K">[N,KV] rotated keys.</param>
    /// <param name="V">[N,KV] values.</param>
    /// <param name="Atty">[N,Q] attention output.</param>
    /// <param name="Lse">[B,NH,T].</param>
    /// <param name="AttProj">[N,C] o projection.</param>
    /// <param name="Residual2">[N,C].</param>
    /// <param name="Ln2">[N,C].</param>
    /// <param name="Ln2Rstd">[N].</param>
    /// <param name="Gate">[N,I].</param>
    /// <param name="Up">[N,I].</param>
    /// <param name="Act">[N,I] silu(gate)·up.</param>
    /// <param name="Down">[N,C].</param>
    /// <param name="Residual3">[N,C] block output.</param>
    public readonly record struct Layer(TensorView Ln1, TensorView Ln1Rstd, TensorView QRaw, TensorView KRaw, TensorView QRstd, TensorView KRstd,
        TensorView Q, TensorView K, TensorView V, TensorView Atty, TensorView Lse, TensorView AttProj, TensorView Residual2,
        TensorView Ln2, TensorView Ln2Rstd, TensorView Gate, TensorView Up, TensorView Act, TensorView Down, TensorView Residual3);

    /// <summary>encoded [N,C]: the token embeddings.</summary>
    public TensorView Encoded { get; }
    /// <summary>[N,C] final norm output.</summary>
    public TensorView Lnf { get; }
    /// <summary>[N].</summary>
    public TensorView LnfRstd { get; }
    /// <summary>[N,Vp] logits (only the first V of a row are the vocabulary), then probabilities, then their gradient.</summary>
    public TensorView Logits { get; }
    /// <summary>[N].</summary>
    public TensorView Losses { get; }
    /// <summary>Gradient scratch: [N,C] residual stream, [N,C] a norm output, [N,Q] attention output, [N,Q] dq (and the q norm's), [N,KV] dk, dv, [N,I] dgate, dup, dact.</summary>
    public (TensorView DResidual, TensorView DLn, TensorView DAtty, TensorView DQ, TensorView DQRaw, TensorView DK, TensorView DKRaw, TensorView DV, TensorView DGate, TensorView DUp, TensorView DAct) Grad { get; }

    /// <summary>Layer l's tensors.</summary>
    public Layer this[int l] => _layers[l];

    /// <summary>Allocates the arena on <paramref name="backend"/> as one buffer.</summary>
    /// <param name="backend">Where it lives.</param>
    /// <param name="c">The model's config.</param>
    /// <param name="B">Batch size.</param>
    /// <param name="T">Sequence length (decoding: tokens fed at once).</param>
    /// <param name="rowsOnly">Decoding: one layer's worth, shared by every layer, and no gradient scratch.</param>
    public LlamaActivations(IBackend backend, LlamaConfig c, int B, int T, bool rowsOnly = false)
    {
        (this.B, this.T) = (B, T);
        long N = (long)B * T, C = c.HiddenSize, Q = (long)c.NumAttentionHeads * c.HeadDim, KV = (long)c.KvHeads * c.HeadDim, I = c.IntermediateSize;
        long qn = c.QkNorm ? 1 : 0;
        int layers = rowsOnly ? 1 : c.NumHiddenLayers;
        long perLayer = N * C * 6 + N * 2 + qn * (N * Q + N * KV + N * c.NumAttentionHeads + N * c.KvHeads) + N * Q * 2 + N * KV * 2
            + (long)B * c.NumAttentionHeads * T + N * I * 3;
        long whole = N * C * 2 + N + N * c.PaddedVocabSize + N;
        long scratch = rowsOnly ? 0 : N * C * 2 + N * Q * 3 + N * KV * 3 + N * I * 3;
        _buffer = backend.Allocate(whole + scratch + perLayer * layers);
        long at = 0;
        TensorView Next(long n) { var v = _buffer.Slice(at, n); at += n; return v; }
        // Logits first: the head's GEMMs take them as an operand with leading dimension Vp, and the
        // device kernels load 4 floats at a time only from 16-byte aligned rows.
        Logits = Next(N * c.PaddedVocabSize);
        Encoded = Next(N * C);
        Lnf = Next(N * C);
        LnfRstd = Next(N);
        Losses = Next(N);
        if (!rowsOnly)
            Grad = (Next(N * C), Next(N * C), Next(N * Q), Next(N * Q), Next(N * Q), Next(N * KV), Next(N * KV), Next(N * KV), Next(N * I), Next(N * I), Next(N * I));
        _layers = new Layer[layers];
        for (int l = 0; l < layers; l++)
        {
            TensorView ln1 = Next(N * C), ln1r = Next(N);
            TensorView qRaw = c.QkNorm ? Next(N * Q) : TensorView.Empty, kRaw = c.QkNorm ? Next(N * KV) : TensorView.Empty;
            TensorView qr = c.QkNorm ? Next(N * c.NumAttentionHeads) : TensorView.Empty, kr = c.QkNorm ? Next(N * c.KvHeads) : TensorView.Empty;
            TensorView q = Next(N * Q), k = Next(N * KV), v = Next(N * KV);
            if (!c.QkNorm) (qRaw, kRaw) = (q, k);
            _layers[l] = new Layer(ln1, ln1r, qRaw, kRaw, qr, kr, q, k, v, Atty: Next(N * Q), Lse: Next((long)B * c.NumAttentionHeads * T),
                AttProj: Next(N * C), Residual2: Next(N * C), Ln2: Next(N * C), Ln2Rstd: Next(N), Gate: Next(N * I), Up: Next(N * I),
                Act: Next(N * I), Down: Next(N * C), Residual3: Next(N * C));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _buffer.Dispose();
}
