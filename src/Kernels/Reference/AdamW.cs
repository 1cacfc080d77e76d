using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// One step of AdamW with decoupled weight decay, as <c>torch.optim.AdamW</c> (amsgrad off,
/// maximize off). The readable truth for faster optimizers.
/// </summary>
public static class AdamW
{
    /// <summary>
    /// For every i, with g = grads[i]·gradScale (gradScale &lt; 1 applies norm clipping):
    /// p −= lr·weightDecay·p; m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
    /// p −= lr·m̂/(√v̂ + eps) with m̂ = m/(1−β₁ˢᵗᵉᵖ), v̂ = v/(1−β₂ˢᵗᵉᵖ).
    /// parameters, m and v are updated in place; m and v start at zero before step 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is below 1 (it counts from 1).</exception>
    public static void Update<TNum>(Span<TNum> parameters, Span<TNum> m, Span<TNum> v, ReadOnlySpan<TNum> grads,
        TNum lr, TNum beta1, TNum beta2, TNum eps, TNum weightDecay, int step, TNum gradScale)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        // In double whatever TNum is, as PyTorch does (Python floats): in float, 1 − β₂² ≈ 0.002
        // (β₂ = 0.999) would carry the ~6e-8 rounding of β₂² as a 3e-5 relative error.
        TNum correction1 = TNum.CreateChecked(1 - Math.Pow(double.CreateChecked(beta1), step));
        TNum correction2 = TNum.CreateChecked(1 - Math.Pow(double.CreateChecked(beta2), step));
        for (int i = 0; i < parameters.Length; i++)
        {
            TNum g = grads[i] * gradScale;
            TNum p = parameters[i];
            p -= lr * weightDecay * p;
            m[i] = beta1 * m[i] + (TNum.One - beta1) * g;
            v[i] = beta2 * v[i] + (TNum.One - beta2) * g * g;
            TNum mhat = m[i] / correction1;
            TNum vhat = v[i] / correction2;
            parameters[i] = p - lr * mhat / (TNum.Sqrt(vhat) + eps);
        }
    }
}
