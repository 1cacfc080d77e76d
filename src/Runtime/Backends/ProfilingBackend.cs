using System.Diagnostics;

namespace Hyper.Runtime.Backends;

/// <summary>
/// Wraps a backend and accumulates wall time and call counts per op, so `hyper bench train
/// --profile` can say where a step's time goes. The device is synchronised before and after each
/// timed call, so on an asynchronous backend the time is the op's own rather than its launch's (or
/// the ops queued before it); host backends' synchronise costs nothing. It supports what the wrapped backend supports, HyperAttention
/// included.
/// </summary>
public sealed class ProfilingBackend(IBackend inner) : IBackend, IHyperAttentionBackend
{
    private readonly Dictionary<string, (long Ticks, long Calls)> _totals = new();

    /// <summary>Accumulated (op, seconds, calls), largest first.</summary>
    public IReadOnlyList<(string Op, double Seconds, long Calls)> Totals =>
        _totals.Select(kv => (kv.Key, kv.Value.Ticks / (double)Stopwatch.Frequency, kv.Value.Calls)).OrderByDescending(t => t.Item2).ToList();

    /// <summary>The backend whose ops are timed.</summary>
    public IBackend Inner => inner;

    /// <summary>Forgets what was measured (e.g. after warm-up).</summary>
    public void Reset() => _totals.Clear();

    /// <summary>While true, calls run untimed (e.g. a prefill between the decode steps being profiled).</summary>
    public bool Paused { get; set; }

    private void Time(string op, Action run)
    {
        if (Paused)
        {
            run();
            return;
        }
        inner.Synchronize();
        long t0 = Stopwatch.GetTimestamp();
        run();
        inner.Synchronize();
        long dt = Stopwatch.GetTimestamp() - t0;
        _totals[op] = _totals.TryGetValue(op, out var t) ? (t.Ticks + dt, t.Calls + 1) : (dt, 1);
    }

    /// <inheritdoc />
    public string Name => inner.Name;
    /// <inheritdoc />
    public string Description => inner.Description;
    /// <inheritdoc />
    public bool Supports(Op op) => inner.Supports(op);
    /// <inheritdoc />
    public void Synchronize() => inner.Synchronize();
    /// <inheritdoc />
    public DeviceBuffer Allocate(long length) => inner.Allocate(length);
    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, TensorView destination) => inner.Upload(source, destination);
    /// <inheritdoc />
    public void Download(TensorView source, Span<float> destination) => inner.Download(source, destination);
    /// <inheritdoc />
    public void Zero(TensorView view) => Time("Zero", () => inner.Zero(view));
    /// <inheritdoc />
    public void Copy(TensorView source, TensorView destination) => Time("Copy", () => inner.Copy(source, destination));

    /// <inheritdoc />
    public double SumOfSquares(TensorView view)
    {
        double r = 0;
        Time("SumOfSquares", () => r = inner.SumOfSquares(view));
        return r;
    }

    /// <inheritdoc />
    public void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
    {
        var t = tokens.ToArray();
        Time("EncoderForward", () => inner.EncoderForward(output, t, wte, wpe, B, T, C));
    }

    /// <inheritdoc />
    public void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C)
    {
        var t = tokens.ToArray();
        Time("EncoderBackward", () => inner.EncoderBackward(dwte, dwpe, dout, t, B, T, C));
    }

    /// <inheritdoc />
    public void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps)
        => Time("LayerNormForward", () => inner.LayerNormForward(output, mean, rstd, input, weight, bias, N, C, eps));

    /// <inheritdoc />
    public void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C)
        => Time("LayerNormBackward", () => inner.LayerNormBackward(dinp, dweight, dbias, dout, input, weight, mean, rstd, N, C));

    /// <inheritdoc />
    public void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
        => Time("MatmulForward", () => inner.MatmulForward(output, input, weight, bias, N, C, OC));

    /// <inheritdoc />
    public void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC)
        => Time("MatmulBackward", () => inner.MatmulBackward(dinp, dweight, dbias, dout, input, weight, N, C, OC));

    /// <inheritdoc />
    public void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal)
        => Time("AttentionForward", () => inner.AttentionForward(output, lse, qkv, B, T, C, NH, causal));

    /// <inheritdoc />
    public void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal)
        => Time("AttentionBackward", () => inner.AttentionBackward(dqkv, dout, qkv, output, lse, B, T, C, NH, causal));

    /// <inheritdoc />
    public void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH)
        => Time("AttentionKvForward", () => inner.AttentionKvForward(output, kCache, vCache, qkv, B, Tq, pos, maxT, C, NH));

    /// <inheritdoc />
    public void LeakyReluForward(TensorView output, TensorView input, float slope, int N)
        => Time("LeakyReluForward", () => inner.LeakyReluForward(output, input, slope, N));

    /// <inheritdoc />
    public void LeakyReluBackward(TensorView dinp, TensorView input, TensorView dout, float slope, int N)
        => Time("LeakyReluBackward", () => inner.LeakyReluBackward(dinp, input, dout, slope, N));

    /// <inheritdoc />
    public void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
        => Time("RmsNormForward", () => inner.RmsNormForward(output, rstd, input, weight, N, C, eps));
    /// <inheritdoc />
    public void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
        => Time("RmsNormBackward", () => inner.RmsNormBackward(dinp, dweight, dout, input, weight, rstd, N, C));
    /// <inheritdoc />
    public void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
        => Time("RopeForward", () => inner.RopeForward(output, input, cos, sin, B, T, H, hs, pos0));
    /// <inheritdoc />
    public void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
        => Time("RopeBackward", () => inner.RopeBackward(dinp, dout, cos, sin, B, T, H, hs, pos0));
    /// <inheritdoc />
    public void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N)
        => Time("SwiGluForward", () => inner.SwiGluForward(output, gate, up, N));
    /// <inheritdoc />
    public void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
        => Time("SwiGluBackward", () => inner.SwiGluBackward(dgate, dup, dout, gate, up, N));
    /// <inheritdoc />
    public void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
        => Time("GroupedQueryAttentionForward", () => inner.GroupedQueryAttentionForward(output, lse, q, k, v, B, T, NH, NKV, hs));
    /// <inheritdoc />
    public void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
        => Time("GroupedQueryAttentionBackward", () => inner.GroupedQueryAttentionBackward(dq, dk, dv, dout, q, k, v, output, lse, B, T, NH, NKV, hs));
    /// <inheritdoc />
    public void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
        => Time("GroupedQueryAttentionKvForward", () => inner.GroupedQueryAttentionKvForward(output, kCache, vCache, q, k, v, B, Tq, pos, maxT, NH, NKV, hs));

    /// <inheritdoc />
    public void HyperEncodingForward(TensorView output, ReadOnlySpan<float> gamma, Hyper.Kernels.Reference.HyperEncodingKind kind, int N, int D)
    {
        var g = gamma.ToArray();
        Time("HyperEncodingForward", () => inner.HyperEncodingForward(output, g, kind, N, D));
    }

    /// <inheritdoc />
    public void GeluForward(TensorView output, TensorView input, int N) => Time("GeluForward", () => inner.GeluForward(output, input, N));

    /// <inheritdoc />
    public void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N) => Time("GeluBackward", () => inner.GeluBackward(dinp, input, dout, N));

    /// <inheritdoc />
    public void ResidualForward(TensorView output, TensorView a, TensorView b, int N) => Time("ResidualForward", () => inner.ResidualForward(output, a, b, N));

    /// <inheritdoc />
    public void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N) => Time("ResidualBackward", () => inner.ResidualBackward(da, db, dout, N));

    /// <inheritdoc />
    public void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp)
    {
        var t = targets.ToArray();
        Time("SoftmaxCrossEntropyForward", () => inner.SoftmaxCrossEntropyForward(losses, probs, logits, t, N, V, Vp));
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp)
    {
        var t = targets.ToArray();
        Time("SoftmaxCrossEntropyBackward", () => inner.SoftmaxCrossEntropyBackward(dlogits, probs, t, dloss, N, V, Vp));
    }

    /// <inheritdoc />
    public void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
        => Time("AdamWUpdate", () => inner.AdamWUpdate(parameters, m, v, grads, lr, beta1, beta2, eps, weightDecay, step, gradScale));

    /// <inheritdoc />
    public void HyperAttentionForward(TensorView output, TensorView lse, TensorView qkv, Hyper.Kernels.Reference.HyperAttentionPlan plan, int B, int T, int C, int NH)
        => Time("HyperAttentionForward", () => HyperAttentionInner().HyperAttentionForward(output, lse, qkv, plan, B, T, C, NH));

    /// <inheritdoc />
    public void HyperAttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, Hyper.Kernels.Reference.HyperAttentionPlan plan, int B, int T, int C, int NH)
        => Time("HyperAttentionBackward", () => HyperAttentionInner().HyperAttentionBackward(dqkv, dout, qkv, output, lse, plan, B, T, C, NH));

    /// <inheritdoc />
    public void HyperAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, Hyper.Kernels.Reference.HyperAttentionKvState state, int B, int Tq, int pos, int maxT, int C, int NH)
        => Time("HyperAttentionKvForward", () => HyperAttentionInner().HyperAttentionKvForward(output, kCache, vCache, qkv, state, B, Tq, pos, maxT, C, NH));

    private IHyperAttentionBackend HyperAttentionInner() => inner as IHyperAttentionBackend
        ?? throw new NotSupportedException($"the {inner.Name} backend does not run HyperAttention");

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();
}
