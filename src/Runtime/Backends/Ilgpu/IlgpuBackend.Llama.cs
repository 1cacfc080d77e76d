using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

// The Llama-family ops with ILGPU kernels: RMSNorm, RoPE, SwiGLU, and grouped-query attention on
// the attention kernels under a grouped AttentionShape (see Kernels.Ilgpu.GroupedQueryAttention).
public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
    {
        CheckRmsNorm(output, input, weight, rstd, N, C);
        if (N == 0) return;
        _kernels.RmsNormForward(new KernelConfig(N, _rowGroup), V(output), V(rstd), V(input), V(weight), C, eps);
    }

    /// <inheritdoc />
    public void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        CheckRmsNorm(dinp, input, weight, rstd, N, C);
        Expect(dout, (long)N * C, nameof(dout), "rmsnorm");
        Expect(dweight, C, nameof(dweight), "rmsnorm");
        if (N == 0) return;
        _kernels.RmsNormBackwardInput(new KernelConfig(N, _rowGroup), V(dinp), V(dout), V(input), V(weight), V(rstd), C);
        _kernels.RmsNormBackwardWeight(Spread(C), V(dweight), V(dout), V(input), V(rstd), N, C);
    }

    /// <inheritdoc />
    public void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        CheckRope(output, input, cos, sin, B, T, H, hs, pos0);
        if (output.Length == 0) return;
        _kernels.RopeForward(Spread((int)(output.Length / 2)), V(output), V(input), V(cos), V(sin), T, H, hs, pos0);
    }

    /// <inheritdoc />
    public void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        CheckRope(dinp, dout, cos, sin, B, T, H, hs, pos0);
        if (dinp.Length == 0) return;
        _kernels.RopeBackward(Spread((int)(dinp.Length / 2)), V(dinp), V(dout), V(cos), V(sin), T, H, hs, pos0);
    }

    /// <inheritdoc />
    public void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N)
    {
        Expect(output, N, nameof(output), "swiglu");
        Expect(gate, N, nameof(gate), "swiglu");
        Expect(up, N, nameof(up), "swiglu");
        if (N > 0) _kernels.SwiGluForward(Spread(N), V(output), V(gate), V(up));
    }

    /// <inheritdoc />
    public void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
    {
        Expect(dgate, N, nameof(dgate), "swiglu");
        Expect(dup, N, nameof(dup), "swiglu");
        Expect(dout, N, nameof(dout), "swiglu");
        Expect(gate, N, nameof(gate), "swiglu");
        Expect(up, N, nameof(up), "swiglu");
        if (N > 0) _kernels.SwiGluBackward(Spread(N), V(dgate), V(dup), V(dout), V(gate), V(up));
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        CheckGqa(output, lse, q, k, v, B, T, NH, NKV, hs);
        if (B * T == 0) return;
        LaunchForward(V(output), V(lse), V(q), V(k), V(v), AttentionShape.GroupedQuery(T, NH, NKV, hs), B);
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
    {
        CheckGqa(output, lse, q, k, v, B, T, NH, NKV, hs);
        CheckGqa(dout, lse, dq, dk, dv, B, T, NH, NKV, hs);
        if (B * T == 0) return;
        var s = AttentionShape.GroupedQuery(T, NH, NKV, hs);
        int rows = B * NH * T;
        var delta = Grow(ref _delta, rows).View.SubView(0, rows);
        _kernels.AttentionBackwardDelta(Spread(rows), delta, V(dout), V(output), s);
        // dk, dv: one group per (key tile, batch, key/value head), summing the group's query heads.
        int br = BlockRows(hs, K.Attention.BackwardKeysSharedFloats);
        _kernels.AttentionBackwardKeys(Config(Groups(T, br), B * NKV, br, K.Attention.BackwardKeysSharedFloats(br, hs)),
            V(dk), V(dv), V(dout), V(q), V(k), V(v), V(lse), delta, s);
        br = BlockRows(hs, K.Attention.BackwardQueriesSharedFloats);
        _kernels.AttentionBackwardQueries(Config(Groups(T, br), B * NH, br, K.Attention.BackwardQueriesSharedFloats(br, hs)),
            V(dq), V(dout), V(q), V(k), V(v), V(lse), delta, s);
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
    {
        if (B < 0 || Tq < 0 || pos < 0 || hs <= 0 || NH <= 0 || NKV <= 0 || NH % NKV != 0)
            throw new ArgumentOutOfRangeException(nameof(B), $"attention (kv): bad dimensions (B={B}, Tq={Tq}, pos={pos}, maxT={maxT}, NH={NH}, NKV={NKV}, hs={hs})");
        if ((long)pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos), $"attention (kv): tokens {pos}..{pos + Tq - 1} do not fit a cache of {maxT} positions");
        int kvw = NKV * hs;
        Expect(output, (long)B * Tq * NH * hs, nameof(output), "attention (kv)");
        Expect(q, (long)B * Tq * NH * hs, nameof(q), "attention (kv)");
        Expect(k, (long)B * Tq * kvw, nameof(k), "attention (kv)");
        Expect(v, (long)B * Tq * kvw, nameof(v), "attention (kv)");
        Expect(kCache, (long)B * maxT * kvw, nameof(kCache), "attention (kv)");
        Expect(vCache, (long)B * maxT * kvw, nameof(vCache), "attention (kv)");
        if (B * Tq == 0) return;
        _kernels.GroupedQueryAttentionAppendKv(Spread(B * Tq * kvw), V(kCache), V(vCache), V(k), V(v), Tq, pos, maxT, kvw);
        LaunchForward(V(output), _dummy.View, V(q), V(kCache), V(vCache), AttentionShape.GroupedQueryKvCache(Tq, pos, maxT, NH, NKV, hs), B);
    }

    private static void CheckGqa(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        if (B < 0 || T < 0 || NH <= 0 || NKV <= 0 || hs <= 0 || NH % NKV != 0)
            throw new ArgumentOutOfRangeException(nameof(NKV), $"attention: bad dimensions (B={B}, T={T}, NH={NH}, NKV={NKV}, hs={hs})");
        long qn = (long)B * T * NH * hs, kn = (long)B * T * NKV * hs;
        Expect(output, qn, "out/dout", "attention");
        Expect(q, qn, "q/dq", "attention");
        Expect(k, kn, "k/dk", "attention");
        Expect(v, kn, "v/dv", "attention");
        Expect(lse, (long)B * NH * T, nameof(lse), "attention");
    }

    private static void CheckRmsNorm(TensorView rows, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        if (N < 0 || C <= 0) throw new ArgumentException($"rmsnorm: bad dimensions (N={N}, C={C})");
        Expect(rows, (long)N * C, "out/dinp", "rmsnorm");
        Expect(input, (long)N * C, nameof(input), "rmsnorm");
        Expect(weight, C, nameof(weight), "rmsnorm");
        Expect(rstd, N, nameof(rstd), "rmsnorm");
    }

    private static void CheckRope(TensorView a, TensorView b, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        if (B < 0 || T < 0 || H <= 0 || hs <= 0 || hs % 2 != 0 || pos0 < 0)
            throw new ArgumentException($"rope: bad dimensions (B={B}, T={T}, H={H}, hs={hs}, pos0={pos0})");
        Expect(a, (long)B * T * H * hs, "out/dinp", "rope");
        Expect(b, (long)B * T * H * hs, "inp/dout", "rope");
        if (cos.Length != sin.Length || cos.Length < (long)(pos0 + T) * (hs / 2))
            throw new ArgumentException($"rope: tables of {cos.Length} and {sin.Length} floats do not cover positions {pos0}..{pos0 + T - 1} of head size {hs}");
    }
}
