namespace Hyper.Tests.Support;

/// <summary>Comparisons of a fast kernel's output with the reference, and seeded test data.</summary>
public static class Check
{
    /// <summary>
    /// Asserts max |actual - expected| / (atol + rtol·max|expected|) ≤ 1: the error is normalised by the
    /// magnitude of the whole tensor (as ggml's test-backend-ops does), because a reordered fp32 sum
    /// of K terms differs from the reference by ~sqrt(K)·ε·(typical term), not relative to each entry.
    /// </summary>
    public static void Close(string what, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rtol, double atol = 1e-6)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        double scale = 0;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs(e));
        double bound = atol + rtol * scale;
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            if (float.IsNaN(actual[i]) != float.IsNaN(expected[i]))
                Assert.Fail($"{what}: NaN mismatch at {i} (actual {actual[i]}, expected {expected[i]})");
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (d > worst) { worst = d; worstAt = i; }
        }
        TestContext.Out.WriteLine($"{what}: max error {worst:E2} ({worst / Math.Max(scale, double.Epsilon):E2} of scale {scale:E2}), bound {bound:E2}");
        Assert.That(worst, Is.LessThanOrEqualTo(bound),
            $"{what}: max error {worst:E3} at {worstAt} exceeds {bound:E3} (scale {scale:E3}, rtol {rtol:E1})");
    }

    /// <summary>Uniform floats in [-scale, scale) from a seed.</summary>
    public static float[] Random(int length, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>Uniform doubles in [-scale, scale) from a seed.</summary>
    public static double[] RandomDouble(int length, int seed, double scale = 1)
    {
        var rng = new Random(seed);
        var a = new double[length];
        for (int i = 0; i < length; i++) a[i] = (rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>The bit patterns of floats, for comparisons that must tell −0 from 0 and one NaN from another.</summary>
    public static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>A device view copied to a new host array.</summary>
    public static float[] Download(Hyper.Runtime.Backends.IBackend backend, Hyper.Runtime.Backends.TensorView view)
    {
        var host = new float[view.Length];
        backend.Download(view, host);
        return host;
    }

    /// <summary>Widens to double.</summary>
    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i];
        return d;
    }

    /// <summary>Narrows to float.</summary>
    public static float[] ToFloat(ReadOnlySpan<double> a)
    {
        var f = new float[a.Length];
        for (int i = 0; i < a.Length; i++) f[i] = (float)a[i];
        return f;
    }
}
