using Hyper.Runtime.Generation;

namespace Hyper.Tests.Generation;

/// <summary>Hand-built logits for the processor tests, and what survived a filter.</summary>
internal static class Logits
{
    /// <summary>Logits whose softmax is exactly <paramref name="probs"/> (up to float rounding): their logs.</summary>
    public static float[] FromProbs(params double[] probs) => probs.Select(p => p == 0 ? float.NegativeInfinity : (float)Math.Log(p)).ToArray();

    /// <summary>The ids a processor left unmasked.</summary>
    public static int[] Kept(ReadOnlySpan<float> logits)
    {
        var kept = new List<int>();
        for (int i = 0; i < logits.Length; i++) if (!float.IsNegativeInfinity(logits[i])) kept.Add(i);
        return [.. kept];
    }

    /// <summary>Runs <paramref name="processor"/> on a copy of <paramref name="logits"/> with an empty or given context.</summary>
    public static float[] Apply(ILogitsProcessor processor, float[] logits, int[]? prompt = null, int[]? generated = null)
    {
        var context = new DecodingContext(prompt ?? []);
        foreach (int id in generated ?? []) context.Append(id);
        float[] copy = (float[])logits.Clone();
        processor.Process(copy, context);
        return copy;
    }

    /// <summary>Softmax in double (−∞ → 0).</summary>
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        var p = new double[logits.Length];
        double z = 0;
        for (int i = 0; i < p.Length; i++) z += p[i] = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp(logits[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] /= z;
        return p;
    }

    /// <summary>Seeded logits with distinct values, spread like a small model's (standard normal × <paramref name="scale"/>).</summary>
    public static float[] Random(int v, ulong seed, double scale = 2)
    {
        var rng = new Hyper.Runtime.Rng(seed);
        return Enumerable.Range(0, v).Select(_ => (float)(rng.NextNormal() * scale)).ToArray();
    }
}
