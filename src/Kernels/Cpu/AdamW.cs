using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// One AdamW step on the CPU (torch.optim.AdamW semantics, as <see cref="Reference.AdamW"/>):
/// Vector512 or Vector256 with FMA, scalar tail, both cores for big tensors. Memory-bound: four
/// streams in, three out. Elementwise, so any split is deterministic.
/// <para>
/// The bias corrections 1 − βˢᵗᵉᵖ are computed in double, as PyTorch does (Python floats): in
/// float, 1 − β₂² ≈ 0.002 (β₂ = 0.999) would carry the ~6e-8 rounding of β₂² as a 3e-5
/// relative error.
/// The FMAs round once where the reference rounds twice, and the update is arranged
/// differently (see Constants), so results agree with the reference to a few ulp, not
/// bit-for-bit.
/// </para>
/// </summary>
public static class AdamW
{
    // Below this many floats a second thread costs more to wake than it saves.
    private const int MinChunk = 1 << 15;

    /// <summary>
    /// For every i, with g = grads[i]·gradScale: p −= lr·weightDecay·p; m = β₁m + (1−β₁)g;
    /// v = β₂v + (1−β₂)g²; p −= lr·m̂/(√v̂ + eps), m̂ = m/(1−β₁ˢᵗᵉᵖ), v̂ = v/(1−β₂ˢᵗᵉᵖ).
    /// parameters, m and v are updated in place (all the same length as grads); step counts from 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is below 1, or a span is shorter than parameters.</exception>
    public static unsafe void Update(Span<float> parameters, Span<float> m, Span<float> v, ReadOnlySpan<float> grads,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        int n = parameters.Length;
        ArgumentOutOfRangeException.ThrowIfLessThan(m.Length, n, nameof(m));
        ArgumentOutOfRangeException.ThrowIfLessThan(v.Length, n, nameof(v));
        ArgumentOutOfRangeException.ThrowIfLessThan(grads.Length, n, nameof(grads));
        var k = new Constants(lr, beta1, beta2, eps, weightDecay, step, gradScale);
        fixed (float* pP = parameters, pM = m, pV = v, pG = grads)
        {
            float* p = pP, mm = pM, vv = pV, g = pG;
            CpuParallel.ForRange(n, MinChunk, (start, end) => UpdateRange(p, mm, vv, g, k, start, end));
        }
    }

    private static unsafe void UpdateRange(float* parameters, float* m, float* v, float* grads, Constants k, int start, int end)
    {
        int i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> scale = Vector512.Create(k.GradScale), decay = Vector512.Create(k.Decay);
            Vector512<float> b1 = Vector512.Create(k.Beta1), b2 = Vector512.Create(k.Beta2);
            Vector512<float> oneMinusB1 = Vector512.Create(k.OneMinusBeta1), oneMinusB2 = Vector512.Create(k.OneMinusBeta2);
            Vector512<float> stepSize = Vector512.Create(k.StepSize), rsqrtC2 = Vector512.Create(k.RsqrtCorrection2);
            Vector512<float> eps = Vector512.Create(k.Eps);
            for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var g = Vector512.Load(grads + i) * scale;
                var p = Vector512.Load(parameters + i);
                p = Vector512.FusedMultiplyAdd(-decay, p, p);
                var mi = Vector512.FusedMultiplyAdd(b1, Vector512.Load(m + i), oneMinusB1 * g);
                var vi = Vector512.FusedMultiplyAdd(b2, Vector512.Load(v + i), oneMinusB2 * g * g);
                mi.Store(m + i);
                vi.Store(v + i);
                var update = stepSize * mi / Vector512.FusedMultiplyAdd(Vector512.Sqrt(vi), rsqrtC2, eps);
                (p - update).Store(parameters + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> scale = Vector256.Create(k.GradScale), decay = Vector256.Create(k.Decay);
            Vector256<float> b1 = Vector256.Create(k.Beta1), b2 = Vector256.Create(k.Beta2);
            Vector256<float> oneMinusB1 = Vector256.Create(k.OneMinusBeta1), oneMinusB2 = Vector256.Create(k.OneMinusBeta2);
            Vector256<float> stepSize = Vector256.Create(k.StepSize), rsqrtC2 = Vector256.Create(k.RsqrtCorrection2);
            Vector256<float> eps = Vector256.Create(k.Eps);
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var g = Vector256.Load(grads + i) * scale;
                var p = Vector256.Load(parameters + i);
                p = Vector256.FusedMultiplyAdd(-decay, p, p);
                var mi = Vector256.FusedMultiplyAdd(b1, Vector256.Load(m + i), oneMinusB1 * g);
                var vi = Vector256.FusedMultiplyAdd(b2, Vector256.Load(v + i), oneMinusB2 * g * g);
                mi.Store(m + i);
                vi.Store(v + i);
                var update = stepSize * mi / Vector256.FusedMultiplyAdd(Vector256.Sqrt(vi), rsqrtC2, eps);
                (p - update).Store(parameters + i);
            }
        }
        for (; i < end; i++)
        {
            float g = grads[i] * k.GradScale;
            float p = parameters[i];
            p -= k.Decay * p;
            m[i] = k.Beta1 * m[i] + k.OneMinusBeta1 * g;
            v[i] = k.Beta2 * v[i] + k.OneMinusBeta2 * g * g;
            parameters[i] = p - k.StepSize * m[i] / (MathF.Sqrt(v[i]) * k.RsqrtCorrection2 + k.Eps);
        }
    }

    // The per-step scalars, computed once per call. lr·m̂/(√v̂ + eps) is evaluated as PyTorch
    // arranges it, (lr/c₁)·m/(√v/√c₂ + eps), with 1/√c₂ as a multiplier: one divide and one
    // square root per element instead of three divides — the kernel was bound by them.
    private readonly struct Constants(float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
    {
        public readonly float Eps = eps, GradScale = gradScale;
        public readonly float Beta1 = beta1, Beta2 = beta2, OneMinusBeta1 = 1 - beta1, OneMinusBeta2 = 1 - beta2;
        public readonly float Decay = lr * weightDecay;
        public readonly float StepSize = (float)(lr / (1 - Math.Pow(beta1, step)));
        public readonly float RsqrtCorrection2 = (float)(1 / Math.Sqrt(1 - Math.Pow(beta2, step)));
    }
}
