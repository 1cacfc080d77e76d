namespace Hyper.Runtime.Backends.OpenCl;

// The Llama-family ops on OpenCL (Kernels/llama.cl; grouped-query attention's forward is
// attention.cl's flash kernel with key/value heads shared by groups of NH/NKV query heads).
public sealed partial class OpenClBackend
{
    /// <inheritdoc />
    public void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
    {
        CheckRmsNorm(output, input, weight, rstd, N, C);
        int wg = _device.WorkGroupSize;
        _device.Kernel("rmsnorm_forward").View(output).View(rstd).View(input).View(weight).Int(C).Float(eps).Launch((long)N * wg, wg);
    }

    /// <inheritdoc />
    public void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        CheckRmsNorm(dinp, input, weight, rstd, N, C);
        Expect("rmsnorm", "dout", dout, (long)N * C);
        Expect("rmsnorm", "dweight", dweight, C);
        int wg = _device.WorkGroupSize;
        _device.Kernel("rmsnorm_backward_input").View(dinp).View(dout).View(input).View(weight).View(rstd).Int(C).Launch((long)N * wg, wg);
        _device.Kernel("rmsnorm_backward_weight").View(dweight).View(dout).View(input).View(rstd).Int(N).Int(C).Launch(C);
    }

    /// <inheritdoc />
    public void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        CheckRope(output, input, cos, sin, B, T, H, hs, pos0);
        _device.Kernel("rope_forward").View(output).View(input).View(cos).View(sin).Int(T).Int(H).Int(hs).Int(pos0)
            .Launch(hs / 2, (long)B * T * H, 0, 0);
    }

    /// <inheritdoc />
    public void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        CheckRope(dinp, dout, cos, sin, B, T, H, hs, pos0);
        _device.Kernel("rope_backward").View(dinp).View(dout).View(cos).View(sin).Int(T).Int(H).Int(hs).Int(pos0)
            .Launch(hs / 2, (long)B * T * H, 0, 0);
    }

    /// <inheritdoc />
    public void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N)
    {
        Expect("swiglu", "out", output, N);
        Expect("swiglu", "gate", gate, N);
        Expect("swiglu", "up", up, N);
        _device.Kernel("swiglu_forward").View(output).View(gate).View(up).Launch(N);
    }

    /// <inheritdoc />
    public void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
    {
        Expect("swiglu", "dgate", dgate, N);
        Expect("swiglu", "dup", dup, N);
        Expect("swiglu", "dout", dout, N);
        Expect("swiglu", "gate", gate, N);
        Expect("swiglu", "up", up, N);
        _device.Kernel("swiglu_backward").View(dgate).View(dup).View(dout).View(gate).View(up).Launch(N);
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        CheckGqa(output, lse, q, k, v, B, T, NH, NKV, hs);
        if (B * T == 0) return;
        int C = NH * hs, kvw = NKV * hs;
        Flash(output, lse, q, k, v, B, T, T, C, T * C, kvw, T * kvw, C, NH, 0, hs, NH / NKV);
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
    {
        CheckGqa(output, lse, q, k, v, B, T, NH, NKV, hs);
        CheckGqa(dout, lse, dq, dk, dv, B, T, NH, NKV, hs);
        if (B * T == 0) return;
        int C = NH * hs;
        float scale = 1f / MathF.Sqrt(hs);
        // D[b,h,i] = dout·out per head: attention_backward_d reads rows [B,T,C] with heads side by side, as here.
        TensorView D = Scratch((long)B * NH * T);
        _device.Kernel("attention_backward_d").View(D).View(dout).View(output).Int(T).Int(C).Int(NH).Launch(T, B * NH, 0, 0);
        _device.Kernel("gqa_backward_dq").View(dq).View(dout).View(q).View(k).View(v).View(lse).View(D).Int(T).Int(NH).Int(NKV).Int(hs).Float(scale)
            .Launch(RoundUp(T, AttentionRows), B * NH, AttentionRows, 1);
        _device.Kernel("gqa_backward_dkv").View(dk).View(dv).View(dout).View(q).View(k).View(v).View(lse).View(D).Int(T).Int(NH).Int(NKV).Int(hs).Float(scale)
            .Launch(RoundUp(T, AttentionRows), B * NKV, AttentionRows, 1);
    }

    /// <inheritdoc />
    public void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
    {
        if (B < 0 || Tq < 0 || pos < 0 || hs <= 0 || NH <= 0 || NKV <= 0 || NH % NKV != 0)
            throw new ArgumentException($"attention (kv): bad dimensions (B={B}, Tq={Tq}, pos={pos}, NH={NH}, NKV={NKV}, hs={hs})");
        if ((long)pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos), $"attention (kv): tokens {pos}..{pos + Tq - 1} do not fit a cache of {maxT} positions");
        if (hs > MaxHeadSize) throw new ArgumentException($"attention (kv): head size {hs} is above the OpenCL kernels' {MaxHeadSize}");
        int C = NH * hs, kvw = NKV * hs;
        Expect("attention (kv)", "out", output, (long)B * Tq * C);
        Expect("attention (kv)", "q", q, (long)B * Tq * C);
        Expect("attention (kv)", "k", k, (long)B * Tq * kvw);
        Expect("attention (kv)", "v", v, (long)B * Tq * kvw);
        Expect("attention (kv)", "kCache", kCache, (long)B * maxT * kvw);
        Expect("attention (kv)", "vCache", vCache, (long)B * maxT * kvw);
        if (B * Tq == 0) return;
        // The new tokens' rows are contiguous per batch row in both layouts: one copy each.
        for (int b = 0; b < B; b++)
        {
            Copy(k.Slice((long)b * Tq * kvw, (long)Tq * kvw), kCache.Slice(((long)b * maxT + pos) * kvw, (long)Tq * kvw));
            Copy(v.Slice((long)b * Tq * kvw, (long)Tq * kvw), vCache.Slice(((long)b * maxT + pos) * kvw, (long)Tq * kvw));
        }
        Flash(output, TensorView.Empty, q, kCache, vCache, B, Tq, pos + Tq, C, Tq * C, kvw, maxT * kvw, C, NH, pos, hs, NH / NKV);
    }

    private static void CheckRmsNorm(TensorView rows, TensorView input, TensorView weight, TensorView rstd, int N, int C)
    {
        if (N < 0 || C <= 0) throw new ArgumentException($"rmsnorm: bad dimensions (N={N}, C={C})");
        Expect("rmsnorm", "out/dinp", rows, (long)N * C);
        Expect("rmsnorm", "inp", input, (long)N * C);
        Expect("rmsnorm", "weight", weight, C);
        Expect("rmsnorm", "rstd", rstd, N);
    }

    private static void CheckRope(TensorView a, TensorView b, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
    {
        if (B < 0 || T < 0 || H <= 0 || hs <= 0 || hs % 2 != 0 || pos0 < 0)
            throw new ArgumentException($"rope: bad dimensions (B={B}, T={T}, H={H}, hs={hs}, pos0={pos0})");
        Expect("rope", "out/dinp", a, (long)B * T * H * hs);
        Expect("rope", "inp/dout", b, (long)B * T * H * hs);
        if (cos.Length != sin.Length || cos.Length < (long)(pos0 + T) * (hs / 2))
            throw new ArgumentException($"rope: tables of {cos.Length} and {sin.Length} floats do not cover positions {pos0}..{pos0 + T - 1} of head size {hs}");
    }

    private static void CheckGqa(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
    {
        if (B < 0 || T < 0 || NH <= 0 || NKV <= 0 || hs <= 0 || NH % NKV != 0)
            throw new ArgumentException($"attention: bad dimensions (B={B}, T={T}, NH={NH}, NKV={NKV}, hs={hs})");
        if (hs > MaxHeadSize) throw new ArgumentException($"attention: head size {hs} is above the OpenCL kernels' {MaxHeadSize}");
        Expect("attention", "out", output, (long)B * T * NH * hs);
        Expect("attention", "q", q, (long)B * T * NH * hs);
        Expect("attention", "k", k, (long)B * T * NKV * hs);
        Expect("attention", "v", v, (long)B * T * NKV * hs);
        Expect("attention", "lse", lse, (long)B * NH * T);
    }
}
