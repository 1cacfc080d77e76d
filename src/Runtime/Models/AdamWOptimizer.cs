using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// AdamW over a <see cref="ParameterLayout"/>: one global gradient norm, clipping as
/// torch.nn.utils.clip_grad_norm_ does, then one fused update per tensor with weight decay where
/// the layout says so. Every model and the hypernetwork step through this; the moments m and v
/// are arenas of the same layout, owned by the caller (they are checkpointed with it).
/// </summary>
public static class AdamWOptimizer
{
    /// <summary>
    /// The global L2 norm of the gradients that train (<see cref="ParameterLayout.Trainable"/> with
    /// <paramref name="lastBlocks"/>; a frozen tensor's gradient does not count).
    /// </summary>
    public static double GradientNorm(IBackend be, ParameterLayout layout, TensorView gradients, int? lastBlocks = null)
    {
        if (lastBlocks is null) return Math.Sqrt(be.SumOfSquares(gradients));
        double sum = 0;
        foreach (var e in layout.Entries)
            if (layout.Trainable(e, lastBlocks) is var (offset, count) && count > 0) sum += be.SumOfSquares(gradients.Slice(offset, count));
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Zeroes the gradients that train (all of them when <paramref name="lastBlocks"/> is null).
    /// A frozen tensor's gradient pages are then never written, so they never become resident.
    /// </summary>
    public static void ZeroGradients(IBackend be, ParameterLayout layout, TensorView gradients, int? lastBlocks = null)
    {
        if (lastBlocks is null)
        {
            be.Zero(gradients);
            return;
        }
        foreach (var e in layout.Entries)
            if (layout.Trainable(e, lastBlocks) is var (offset, count) && count > 0) be.Zero(gradients.Slice(offset, count));
    }

    /// <summary>
    /// One step (<paramref name="t"/> is the 1-based step count, for the bias correction) of the
    /// trainable tensors, given the gradient norm before clipping.
    /// </summary>
    public static void Update(IBackend be, ParameterLayout layout, TensorView parameters, TensorView gradients, TensorView m, TensorView v,
        float lr, AdamWSettings s, int t, double gradNorm, int? lastBlocks = null)
    {
        // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
        double clip = s.GradClip > 0 ? s.GradClip / (gradNorm + 1e-6) : 1.0;
        float scale = clip < 1.0 ? (float)clip : 1f;
        foreach (var e in layout.Entries)
        {
            var (offset, count) = layout.Trainable(e, lastBlocks);
            if (count == 0) continue;
            be.AdamWUpdate(parameters.Slice(offset, count), m.Slice(offset, count), v.Slice(offset, count), gradients.Slice(offset, count),
                lr, s.Beta1, s.Beta2, s.Eps, e.Decay ? s.WeightDecay : 0f, t, scale);
        }
    }
}
