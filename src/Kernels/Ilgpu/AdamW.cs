using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>The scalar arguments of one AdamW step, bias corrections already computed on the host.</summary>
/// <param name="Lr">Learning rate.</param>
/// <param name="Beta1">First-moment decay.</param>
/// <param name="Beta2">Second-moment decay.</param>
/// <param name="Eps">Denominator guard.</param>
/// <param name="WeightDecay">Decoupled weight decay.</param>
/// <param name="Correction1">1 − β₁ˢᵗᵉᵖ, computed in double and rounded to float (as the reference).</param>
/// <param name="Correction2">1 − β₂ˢᵗᵉᵖ, likewise.</param>
/// <param name="GradScale">Multiplier of every gradient (norm clipping).</param>
public readonly record struct AdamWStep(float Lr, float Beta1, float Beta2, float Eps, float WeightDecay,
    float Correction1, float Correction2, float GradScale);

/// <summary>AdamW as an ILGPU kernel, a grid-stride loop over the parameters; the formula of <see cref="Reference.AdamW"/>.</summary>
public static class AdamW
{
    /// <summary>One AdamW step on every parameter.</summary>
    public static void Update(ArrayView<float> parameters, ArrayView<float> m, ArrayView<float> v, ArrayView<float> grads, AdamWStep s)
    {
        for (int i = Grid.GlobalIndex.X; i < parameters.IntLength; i += GridStride.Step) Step(i, parameters, m, v, grads, s);
    }

    private static void Step(int i, ArrayView<float> parameters, ArrayView<float> m, ArrayView<float> v, ArrayView<float> grads, AdamWStep s)
    {
        float g = grads[i] * s.GradScale;
        float p = parameters[i];
        p -= s.Lr * s.WeightDecay * p;
        float mi = s.Beta1 * m[i] + (1f - s.Beta1) * g;
        float vi = s.Beta2 * v[i] + (1f - s.Beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / s.Correction1;
        float vhat = vi / s.Correction2;
        parameters[i] = p - s.Lr * mhat / (MathF.Sqrt(vhat) + s.Eps);
    }
}
