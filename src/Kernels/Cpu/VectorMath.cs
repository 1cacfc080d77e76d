using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>Vectorised elementary functions shared by the CPU kernels.</summary>
internal static class VectorMath
{
    // e^x for x ≤ 88 (Cephes expf): x = n·ln2 + r with |r| ≤ ½ln2, e^r by a degree-6 polynomial,
    // 2^n put straight into the exponent bits. ln2 is split in two (hi has few mantissa bits, so
    // n·hi is exact) to keep r accurate. x < −87.3 (2^n below the normal range) is clamped and
    // gives ≈1.2e-38 instead of a subnormal; NaN propagates through the IEEE Min/Max.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Max(Vector512.Min(x, Vector512.Create(88f)), Vector512.Create(-87.33654f));
        var n = Vector512.Round(x * Vector512.Create(1.442695040888963f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var pow2n = (Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23;
        return p * pow2n.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Max(Vector256.Min(x, Vector256.Create(88f)), Vector256.Create(-87.33654f));
        var n = Vector256.Round(x * Vector256.Create(1.442695040888963f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var pow2n = (Vector256.ConvertToInt32Native(n) + Vector256.Create(127)) << 23;
        return p * pow2n.AsSingle();
    }
}
