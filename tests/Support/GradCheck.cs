namespace Hyper.Tests.Support;

/// <summary>
/// Central finite differences in double precision, the check every backward passes.
/// <para>
/// With h = 1e-5 the truncation error of a central difference is O(h²·f''') ≈ 1e-10 and the
/// rounding error O(ε·|f|/h) ≈ 1e-11 for |f| ~ 1, so analytic and numeric gradients of a
/// correct double-precision kernel agree to ~1e-8 relative; 1e-6 leaves room for
/// ill-conditioned entries without letting a wrong formula (errors of order 1) through.
/// </para>
/// </summary>
public static class GradCheck
{
    /// <summary>Default step.</summary>
    public const double Step = 1e-5;

    /// <summary>Default tolerance on |numeric - analytic| / max(1, |numeric|, |analytic|).</summary>
    public const double Tolerance = 1e-6;

    /// <summary>
    /// Perturbs each entry of <paramref name="x"/> (restoring it afterwards), evaluates
    /// <paramref name="loss"/> on both sides and compares with <paramref name="analytic"/>.
    /// At most <paramref name="maxEntries"/> entries, spread evenly, are checked.
    /// </summary>
    public static void Check(string what, double[] x, double[] analytic, Func<double> loss,
        int maxEntries = 256, double h = Step, double tolerance = Tolerance)
    {
        Assert.That(analytic, Has.Length.EqualTo(x.Length), $"{what}: gradient length");
        int stride = Math.Max(1, x.Length / maxEntries);
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < x.Length; i += stride)
        {
            double saved = x[i];
            x[i] = saved + h;
            double plus = loss();
            x[i] = saved - h;
            double minus = loss();
            x[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            double err = Math.Abs(numeric - analytic[i]) / Math.Max(1.0, Math.Max(Math.Abs(numeric), Math.Abs(analytic[i])));
            if (err > worst) { worst = err; worstAt = i; }
        }
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance),
            $"{what}: finite-difference mismatch {worst:E3} at index {worstAt}");
    }

    /// <summary>Σ out[i]·w[i]: a scalar loss whose gradient with respect to out is w.</summary>
    public static double Dot(ReadOnlySpan<double> output, ReadOnlySpan<double> weights)
    {
        double s = 0;
        for (int i = 0; i < output.Length; i++) s += output[i] * weights[i];
        return s;
    }
}
