using Ref = Hyper.Kernels.Reference;

namespace Hyper.Runtime.Backends;

/// <summary>
/// A device that runs the op set. Models are written once against this interface.
/// <para>
/// Conventions (llm.c's): outputs first, then inputs, then dimensions. B batch, T time,
/// C channels, NH heads, V vocabulary, N = B·T rows. Every backward <b>accumulates</b> (+=)
/// into its gradient outputs, so callers zero gradient buffers once per step; the one exception
/// is <see cref="SoftmaxCrossEntropyBackward"/>, which overwrites so it can run in place on the
/// probabilities. Token ids live in host memory (they are small; a device backend uploads them).
/// </para>
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>Short name used on the command line (cpu, reference, ...).</summary>
    string Name { get; }

    /// <summary>One line describing the device.</summary>
    string Description { get; }

    /// <summary>
    /// Whether this backend has a native kernel for <paramref name="op"/>. False for an op it leaves
    /// to this interface's default (the reference on a host copy, <see cref="ReferenceFallback"/>),
    /// and for one it cannot run.
    /// </summary>
    bool Supports(Op op);

    /// <summary>Allocates <paramref name="length"/> floats, zero-filled.</summary>
    DeviceBuffer Allocate(long length);

    /// <summary>Copies host floats into a view (lengths must match).</summary>
    void Upload(ReadOnlySpan<float> source, TensorView destination);

    /// <summary>Copies a view into host floats (lengths must match).</summary>
    void Download(TensorView source, Span<float> destination);

    /// <summary>Sets every float of the view to zero.</summary>
    void Zero(TensorView view);

    /// <summary>Copies one view into another of the same length.</summary>
    void Copy(TensorView source, TensorView destination);

    /// <summary>
    /// Waits until every op called so far has finished on the device. A clock read around ops of an
    /// asynchronous backend (CUDA, ILGPU, OpenCL) measures their launches unless this comes first.
    /// </summary>
    /// <remarks>
    /// No default here: the interface's default methods are the ops' reference fallbacks
    /// (<see cref="ReferenceFallback"/>). <see cref="HostBackend"/>'s does nothing, since a host
    /// backend has finished each op when the call returns.
    /// </remarks>
    void Synchronize();

    /// <summary>Sum of squares of a view, accumulated in double (gradient-norm clipping).</summary>
    double SumOfSquares(TensorView view);

    /// <summary>out[B,T,C] = wte[tokens[b,t]] + wpe[t].</summary>
    void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C);

    /// <summary>dwte[V,C] += scatter of dout by token; dwpe[T,C] += sum of dout over the batch.</summary>
    void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C);

    /// <summary>out[N,C] = (inp - mean) · rstd · weight + bias; mean[N] and rstd[N] are kept for the backward.</summary>
    void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps);

    /// <summary>dinp[N,C], dweight[C], dbias[C] += the layernorm gradients.</summary>
    void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C);

    /// <summary>out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] (bias may be empty).</summary>
    void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC);

    /// <summary>dinp[N,C] += dout·weight; dweight[OC,C] += doutᵀ·inp; dbias[OC] += Σ dout (dbias may be empty).</summary>
    void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC);

    /// <summary>
    /// Multi-head attention over qkv[B,T,3C] (q, k, v side by side, heads of size C/NH inside each),
    /// out[B,T,C]; lse[B,NH,T] keeps each row's log-sum-exp for the backward (no T×T matrix).
    /// </summary>
    void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal);

    /// <summary>dqkv[B,T,3C] += the attention gradients, recomputing scores from qkv and lse.</summary>
    void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal);

    /// <summary>
    /// Attention of Tq new tokens over a key/value cache (incremental decoding, no backward): writes
    /// their k and v from qkv[B,Tq,3C] into kCache[B,maxT,C] and vCache[B,maxT,C] at positions
    /// pos..pos+Tq−1, then out[B,Tq,C] = causal attention of their queries over cached keys
    /// 0..pos+t (scale 1/√hs, hs = C/NH). Cache rows past pos+Tq−1 are not touched.
    /// </summary>
    void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH);

    /// <summary>out[n] = gelu(inp[n]), tanh form.</summary>
    void GeluForward(TensorView output, TensorView input, int N);

    /// <summary>dinp[n] += gelu'(inp[n]) · dout[n].</summary>
    void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N);

    /// <summary>out[n] = a[n] + b[n].</summary>
    void ResidualForward(TensorView output, TensorView a, TensorView b, int N);

    /// <summary>da[n] += dout[n]; db[n] += dout[n].</summary>
    void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N);

    /// <summary>
    /// probs[N,Vp] = softmax(logits) over each row's first V columns, losses[N] = -log probs[target];
    /// probs may be the logits view itself. Rows are Vp ≥ V floats apart (the padded vocabulary of
    /// the model's arena, see <see cref="Models.IModelConfig.PaddedVocabSize"/>): columns V..Vp are
    /// never read and are written as zeros. A negative target ignores the row (loss 0).
    /// </summary>
    void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp);

    /// <summary>dlogits[N,Vp] = (probs - onehot(target)) · dloss in the first V columns and 0 in the padding, overwriting; dlogits may be the probs view.</summary>
    void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp);

    /// <summary>
    /// One AdamW step (PyTorch semantics, decoupled weight decay) on a parameter view with its
    /// gradient scaled by <paramref name="gradScale"/> (for norm clipping); step is 1-based.
    /// </summary>
    void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale);
    /// <summary>out[n] = inp[n] &gt; 0 ? inp[n] : slope·inp[n] (the hypernetwork's activation).</summary>
    /// <remarks>The default runs the reference kernel on a host copy: correct on any backend, fast on none.</remarks>
    void LeakyReluForward(TensorView output, TensorView input, float slope, int N)
    {
        var x = new float[N];
        var y = new float[N];
        Download(input.Slice(0, N), x);
        Hyper.Kernels.Reference.LeakyRelu.Forward<float>(y, x, slope, N);
        Upload(y, output.Slice(0, N));
    }

    /// <summary>dinp[n] += (inp[n] &gt; 0 ? 1 : slope)·dout[n].</summary>
    /// <remarks>The default runs the reference kernel on a host copy.</remarks>
    void LeakyReluBackward(TensorView dinp, TensorView input, TensorView dout, float slope, int N)
    {
        var x = new float[N];
        var g = new float[N];
        var d = new float[N];
        Download(input.Slice(0, N), x);
        Download(dout.Slice(0, N), g);
        Download(dinp.Slice(0, N), d);
        Hyper.Kernels.Reference.LeakyRelu.Backward<float>(d, x, g, slope, N);
        Upload(d, dinp.Slice(0, N));
    }

    /// <summary>
    /// out[N,W] = E(gamma[N,D]), the hypernetwork's input encoding (W = 2D for cos|sin and z|1−z,
    /// D for raw). Gamma lives in host memory, like token ids: it is a few floats per sample.
    /// </summary>
    /// <remarks>The default encodes on the host and uploads, which is also what the host backends do.</remarks>
    void HyperEncodingForward(TensorView output, ReadOnlySpan<float> gamma, Hyper.Kernels.Reference.HyperEncodingKind kind, int N, int D)
    {
        var y = new float[N * Hyper.Kernels.Reference.HyperEncoding.Width(kind, D)];
        Hyper.Kernels.Reference.HyperEncoding.Forward<float>(y, gamma, kind, N, D);
        Upload(y, output);
    }

    /// <summary>
    /// out[N,C] = inp·rstd·weight with rstd[N] = 1/√(mean(inp²) + eps), kept for the backward
    /// (Llama's RMSNorm; statistics in fp32). out may be the input's view.
    /// </summary>
    /// <remarks>The default runs the reference kernel on a host copy (see <see cref="HostCopy"/>).</remarks>
    void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
    {
        var h = new HostCopy(this);
        float[] y = HostCopy.Out(output), r = HostCopy.Out(rstd);
        Ref.RmsNorm.Forward<float>(y, r, h.In(input), h.In(weight), N, C, eps);
        h.Back(y, output);
        h.Back(r, rstd);
    }

    /// <summary>dinp[N,C], dweight[C] += the RMSNorm gradients.</summary>
    void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        var h = new HostCopy(this);
        float[] dx = h.In(dinp), dw = h.In(dweight);
        Ref.RmsNorm.Backward<float>(dx, dw, h.In(dout), h.In(input), h.In(weight), h.In(rstd), N, C);
        h.Back(dx, dinp);
        h.Back(dw, dweight);
    }

    /// <summary>
    /// Rotary position embedding, Hugging Face's rotate-half form: out[B,T,H,hs] = x rotated by the
    /// angles of positions pos0..pos0+T−1, read from cos/sin tables [P, hs/2]. out may be x's view.
    /// </summary>
    void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        var h = new HostCopy(this);
        float[] y = HostCopy.Out(output);
        Ref.Rope.Forward<float>(y, h.In(input), h.In(cos), h.In(sin), B, T, H, hs, pos0);
        h.Back(y, output);
    }

    /// <summary>dinp[B,T,H,hs] += dout rotated back (the op is linear: it needs no input).</summary>
    void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        var h = new HostCopy(this);
        float[] dx = h.In(dinp);
        Ref.Rope.Backward<float>(dx, h.In(dout), h.In(cos), h.In(sin), B, T, H, hs, pos0);
        h.Back(dx, dinp);
    }

    /// <summary>out[n] = silu(gate[n])·up[n] (the Llama MLP's gated unit).</summary>
    void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N)
    {
        var h = new HostCopy(this);
        float[] y = HostCopy.Out(output);
        Ref.SwiGlu.Forward<float>(y, h.In(gate), h.In(up), N);
        h.Back(y, output);
    }

    /// <summary>dgate[n], dup[n] += the SwiGLU gradients.</summary>
    void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
    {
        var h = new HostCopy(this);
        float[] dg = h.In(dgate), du = h.In(dup);
        Ref.SwiGlu.Backward<float>(dg, du, h.In(dout), h.In(gate), h.In(up), N);
        h.Back(dg, dgate);
        h.Back(du, dup);
    }

    /// <summary>
    /// Causal grouped-query attention: q/out[B,T,NH,hs], k/v[B,T,NKV,hs], each group of NH/NKV query
    /// heads sharing one key/value head; scale 1/√hs; lse[B,NH,T] kept for the backward.
    /// </summary>
    void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        var h = new HostCopy(this);
        float[] y = HostCopy.Out(output), l = HostCopy.Out(lse);
        Ref.GroupedQueryAttention.Forward<float>(y, l, h.In(q), h.In(k), h.In(v), B, T, NH, NKV, hs);
        h.Back(y, output);
        h.Back(l, lse);
    }

    /// <summary>dq, dk, dv += the grouped-query attention gradients, recomputing scores from q, k and lse.</summary>
    void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
    {
        var h = new HostCopy(this);
        float[] gq = h.In(dq), gk = h.In(dk), gv = h.In(dv);
        Ref.GroupedQueryAttention.Backward<float>(gq, gk, gv, h.In(dout), h.In(q), h.In(k), h.In(v), h.In(output), h.In(lse), B, T, NH, NKV, hs);
        h.Back(gq, dq);
        h.Back(gk, dk);
        h.Back(gv, dv);
    }

    /// <summary>
    /// Decoding with grouped-query attention: writes the Tq new tokens' k, v [B,Tq,NKV,hs] into
    /// kCache/vCache[B,maxT,NKV,hs] (only the key/value heads are cached) at pos..pos+Tq−1, then
    /// out[B,Tq,NH,hs] = causal attention of their queries over cached positions 0..pos+t.
    /// </summary>
    void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
    {
        var h = new HostCopy(this);
        float[] y = HostCopy.Out(output), kc = h.In(kCache), vc = h.In(vCache);
        Ref.GroupedQueryAttention.KvForward<float>(y, kc, vc, h.In(q), h.In(k), h.In(v), B, Tq, pos, maxT, NH, NKV, hs);
        h.Back(y, output);
        h.Back(kc, kCache);
        h.Back(vc, vCache);
    }
}
