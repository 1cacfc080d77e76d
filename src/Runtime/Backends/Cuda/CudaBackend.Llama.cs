namespace Hyper.Runtime.Backends.Cuda;

// The Llama-family ops with kernels in libhypercuda: RMSNorm, RoPE, SwiGLU (native/cuda/src/llama.cu)
// and grouped-query attention (gqa.cu). Shapes are checked here, before the device is touched.
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc />
    public void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
    {
        CheckRmsNorm(output, input, weight, rstd, N, C);
        _native.Check(_native.RmsnormForward(P(output), P(rstd), P(input), P(weight), N, C, eps), "rmsnorm forward");
    }

    /// <inheritdoc />
    public void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        CheckRmsNorm(dinp, input, weight, rstd, N, C);
        Expect(dout, (long)N * C, "rmsnorm dout");
        Expect(dweight, C, "rmsnorm dweight");
        _native.Check(_native.RmsnormBackward(P(dinp), P(dweight), P(dout), P(input), P(weight), P(rstd), N, C), "rmsnorm backward");
    }

    /// <inheritdoc />
    public void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        CheckRope(output, input, cos, sin, B, T, H, hs, pos0);
        _native.Check(_native.RopeForward(P(output), P(input), P(cos), P(sin), B, T, H, hs, pos0), "rope forward");
    }

    /// <inheritdoc />
    public void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        CheckRope(dinp, dout, cos, sin, B, T, H, hs, pos0);
        _native.Check(_native.RopeBackward(P(dinp), P(dout), P(cos), P(sin), B, T, H, hs, pos0), "rope backward");
    }

    /// <inheritdoc />
    public void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N)
    {
        Expect(output, N, "swiglu out");
        Expect(gate, N, "swiglu gate");
        Expect(up, N, "swiglu up");
        _native.Check(_native.SwigluForward(P(output), P(gate), P(up), N), "swiglu forward");
    }

    /// <inheritdoc />
    public void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
    {
        Expect(dgate, N, "swiglu dgate");
        Expect(dup, N, "swiglu dup");
        Expect(dout, N, "swiglu dout");
        Expect(gate, N, "swiglu gate");
        Expect(up, N, "swiglu up");
        _native.Check(_native.SwigluBackward(P(dgate), P(dup), P(dout), P(gate), P(up), N), "swiglu backward");
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        CheckGqa(output, lse, q, k, v, B, T, NH, NKV, hs);
        _native.Check(_native.GroupedQueryAttentionForward(P(output), P(lse), P(q), P(k), P(v), B, T, NH, NKV, hs), "grouped-query attention forward");
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
    {
        CheckGqa(output, lse, q, k, v, B, T, NH, NKV, hs);
        CheckGqa(dout, lse, dq, dk, dv, B, T, NH, NKV, hs);
        _native.Check(_native.GroupedQueryAttentionBackward(P(dq), P(dk), P(dv), P(dout), P(q), P(k), P(v), P(output), P(lse), B, T, NH, NKV, hs),
            "grouped-query attention backward");
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
    {
        if (B < 0 || Tq < 0 || pos < 0 || maxT < 0 || NH <= 0 || NKV <= 0 || hs <= 0 || NH % NKV != 0)
            throw new ArgumentException($"cuda: grouped-query attention kv: bad dimensions (B={B}, Tq={Tq}, pos={pos}, maxT={maxT}, NH={NH}, NKV={NKV}, hs={hs})");
        long qn = (long)B * Tq * NH * hs, kn = (long)B * Tq * NKV * hs, cache = (long)B * maxT * NKV * hs;
        Expect(output, qn, "grouped-query attention kv out");
        Expect(q, qn, "grouped-query attention kv q");
        Expect(k, kn, "grouped-query attention kv k");
        Expect(v, kn, "grouped-query attention kv v");
        Expect(kCache, cache, "grouped-query attention k cache");
        Expect(vCache, cache, "grouped-query attention v cache");
        _native.Check(_native.GroupedQueryAttentionKvForward(P(output), P(kCache), P(vCache), P(q), P(k), P(v), B, Tq, pos, maxT, NH, NKV, hs),
            "grouped-query attention kv forward");
    }

    private static void CheckGqa(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        if (B < 0 || T < 0 || NH <= 0 || NKV <= 0 || hs <= 0 || NH % NKV != 0)
            throw new ArgumentException($"cuda: grouped-query attention: bad dimensions (B={B}, T={T}, NH={NH}, NKV={NKV}, hs={hs})");
        long qn = (long)B * T * NH * hs, kn = (long)B * T * NKV * hs;
        Expect(output, qn, "grouped-query attention out/dout");
        Expect(q, qn, "grouped-query attention q/dq");
        Expect(k, kn, "grouped-query attention k/dk");
        Expect(v, kn, "grouped-query attention v/dv");
        Expect(lse, (long)B * NH * T, "grouped-query attention lse");
    }

    private static void CheckRmsNorm(TensorView rows, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        if (N < 0 || C <= 0) throw new ArgumentException($"cuda: rmsnorm: bad dimensions (N={N}, C={C})");
        Expect(rows, (long)N * C, "rmsnorm out/dinp");
        Expect(input, (long)N * C, "rmsnorm input");
        Expect(weight, C, "rmsnorm weight");
        Expect(rstd, N, "rmsnorm rstd");
    }

    private static void CheckRope(TensorView a, TensorView b, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        if (B < 0 || T < 0 || H <= 0 || hs <= 0 || hs % 2 != 0 || pos0 < 0)
            throw new ArgumentException($"cuda: rope: bad dimensions (B={B}, T={T}, H={H}, hs={hs}, pos0={pos0})");
        Expect(a, (long)B * T * H * hs, "rope out/dinp");
        Expect(b, (long)B * T * H * hs, "rope inp/dout");
        if (cos.Length != sin.Length || cos.Length < (long)(pos0 + T) * (hs / 2))
            throw new ArgumentException($"cuda: rope: tables of {cos.Length} and {sin.Length} floats do not cover positions {pos0}..{pos0 + T - 1} of head size {hs}");
    }
}
