using ILGPU;
using ILGPU.Runtime;

namespace Hyper.Runtime.Backends.Ilgpu;

// The Llama-family ops with ILGPU kernels (RMSNorm, RoPE, SwiGLU); grouped-query attention runs
// IBackend's default on a host copy, and Supports says so.
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
