using System.Diagnostics;
using Attention = Hyper.Kernels.Cpu.Attention;
using Hyper.Kernels.Reference;
using CpuHyper = Hyper.Kernels.Cpu.HyperAttention;

namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// Times exact flash attention (<see cref="Attention"/>) against HyperAttention
/// (<see cref="CpuHyper"/>) on the same inputs (batch 1, qkv[1,n,3C]), and measures how far
/// HyperAttention's output (and gradients) are from exact. See <see cref="AttentionBenchmarkResult"/>
/// for the error measures.
/// </summary>
public static class AttentionBenchmark
{
    /// <summary>
    /// One result per length, produced lazily (print each as it comes: exact causal attention at
    /// 131072 tokens takes a minute on two cores). Both kernels first run untimed at the shortest
    /// length (capped at 8192), for at least a second, so the JIT has optimised them; each is then timed
    /// <see cref="AttentionBenchmarkOptions.Repeats"/> times (once when a run is long) and the
    /// minimum is reported.
    /// </summary>
    public static IEnumerable<AttentionBenchmarkResult> Run(AttentionBenchmarkOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        int warm = Math.Min(options.Lengths.Min(), 8192);
        progress?.Invoke($"warm-up at n={warm}");
        // Tiered compilation promotes a method after 30 calls and a 100 ms delay: keep both
        // kernels busy for a second so neither is timed with tier-0 code.
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < 2 || (i < 50 && Stopwatch.GetElapsedTime(start).TotalSeconds < 1); i++)
            Measure(options with { Repeats = 1 }, warm, null);
        foreach (int n in options.Lengths) yield return Measure(options, n, progress);
    }

    private static void Validate(AttentionBenchmarkOptions o)
    {
        if (o.Lengths.Count == 0) throw new ArgumentException("attention benchmark: no lengths given");
        if (o.Lengths.Any(n => n < 1)) throw new ArgumentOutOfRangeException(nameof(o.Lengths), "attention benchmark: lengths must be at least 1");
        if (o.Heads < 1) throw new ArgumentOutOfRangeException(nameof(o.Heads), "attention benchmark: heads must be at least 1");
        if (o.HeadSize < 1) throw new ArgumentOutOfRangeException(nameof(o.HeadSize), "attention benchmark: head size must be at least 1");
        if (o.Clusters < 1) throw new ArgumentOutOfRangeException(nameof(o.Clusters), "attention benchmark: clusters must be at least 1");
        if (o.Repeats < 1) throw new ArgumentOutOfRangeException(nameof(o.Repeats), "attention benchmark: repeats must be at least 1");
        if ((long)o.Lengths.Max() * 3 * o.Heads * o.HeadSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(o.Lengths), "attention benchmark: n·3·heads·head size exceeds one array");
        (o.Hyper with { Causal = o.Causal }).Validate();
    }

    private static AttentionBenchmarkResult Measure(AttentionBenchmarkOptions o, int n, Action<string>? progress)
    {
        int NH = o.Heads, hs = o.HeadSize, C = NH * hs;
        float[] qkv = Inputs(o, n);
        var plan = HyperAttentionPlan.Create(o.Hyper with { Causal = o.Causal }, n, NH, hs, o.Seed);
        var exact = new float[n * C];
        var exactLse = new float[NH * n];
        var hyper = new float[n * C];
        var hyperLse = new float[NH * n];

        progress?.Invoke($"n={n}: exact forward");
        double exactMs = Time(o, null, () => Attention.Forward(exact, exactLse, qkv, 1, n, C, NH, o.Causal));
        progress?.Invoke($"n={n}: hyper forward");
        double hyperMs = Time(o, null, () => CpuHyper.Forward(hyper, hyperLse, qkv, plan, 1, n, C, NH));
        double relError = RelativeError(hyper, exact, 0, C, C);
        double spectral = 0;
        for (int h = 0; h < NH; h++)
            spectral = Math.Max(spectral, SpectralNorm(hyper, exact, C, h * hs, n, hs) / SpectralNorm(qkv, null, 3 * C, 2 * C + h * hs, n, hs));

        double? exactFb = null, hyperFb = null, dq = null, dk = null, dv = null;
        if (o.Backward)
        {
            var rng = new Rng(o.Seed ^ 0xD0D0);
            var dout = new float[n * C];
            for (int i = 0; i < dout.Length; i++) dout[i] = (float)rng.NextNormal();
            var dExact = new float[qkv.Length];
            var dHyper = new float[qkv.Length];
            progress?.Invoke($"n={n}: exact forward + backward");
            exactFb = Time(o, () => Array.Clear(dExact), () =>
            {
                Attention.Forward(exact, exactLse, qkv, 1, n, C, NH, o.Causal);
                Attention.Backward(dExact, dout, qkv, exact, exactLse, 1, n, C, NH, o.Causal);
            });
            progress?.Invoke($"n={n}: hyper forward + backward");
            hyperFb = Time(o, () => Array.Clear(dHyper), () =>
            {
                CpuHyper.Forward(hyper, hyperLse, qkv, plan, 1, n, C, NH);
                CpuHyper.Backward(dHyper, dout, qkv, hyper, hyperLse, plan, 1, n, C, NH);
            });
            dq = RelativeError(dHyper, dExact, 0, C, 3 * C);
            dk = RelativeError(dHyper, dExact, C, C, 3 * C);
            dv = RelativeError(dHyper, dExact, 2 * C, C, 3 * C);
        }
        return new AttentionBenchmarkResult(n, o.Causal, NH, hs, exactMs, hyperMs, relError, spectral, exactFb, hyperFb, dq, dk, dv);
    }

    /// <summary>Minimum wall time in ms over the repeats of <paramref name="run"/> (<paramref name="reset"/> untimed before each).</summary>
    private static double Time(AttentionBenchmarkOptions o, Action? reset, Action run)
    {
        double best = double.PositiveInfinity;
        for (int r = 0; r < o.Repeats; r++)
        {
            reset?.Invoke();
            long t0 = Stopwatch.GetTimestamp();
            run();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            best = Math.Min(best, ms);
            if (ms > o.LongRunSeconds * 1000) break;
        }
        return best;
    }

    /// <summary>qkv[1,n,3C] drawn from the seed.</summary>
    internal static float[] Inputs(AttentionBenchmarkOptions o, int n)
    {
        if (o.Data == AttentionData.Model)
            return ModelAttentionInputs.Take(o.ModelDir ?? throw new SettingException("Data", "model:DIR needs a folder"), o.ModelText, o.ModelLayer, o.Heads, o.HeadSize, n);
        int C = o.Heads * o.HeadSize;
        var rng = new Rng(o.Seed);
        var qkv = new float[n * 3 * C];
        if (o.Data == AttentionData.Random)
        {
            for (int i = 0; i < qkv.Length; i++) qkv[i] = (float)rng.NextNormal();
            return qkv;
        }
        // Per head its own centres; q and k of a token share its cluster.
        var centres = new double[o.Clusters * C];
        for (int i = 0; i < centres.Length; i++) centres[i] = rng.NextNormal();
        for (int t = 0; t < n; t++)
            for (int h = 0; h < o.Heads; h++)
            {
                int z = rng.NextInt(o.Clusters);
                for (int d = 0; d < o.HeadSize; d++)
                {
                    int c = h * o.HeadSize + d;
                    qkv[t * 3 * C + c] = (float)(centres[z * C + c] + 0.3 * rng.NextNormal());
                    qkv[t * 3 * C + C + c] = (float)(centres[z * C + c] + 0.3 * rng.NextNormal());
                    qkv[t * 3 * C + 2 * C + c] = (float)rng.NextNormal();
                }
            }
        return qkv;
    }

    /// <summary>‖a − b‖_F / ‖b‖_F over the columns [offset, offset + width) of rows of <paramref name="stride"/>.</summary>
    private static double RelativeError(float[] a, float[] b, int offset, int width, int stride)
    {
        double num = 0, den = 0;
        for (int row = 0; row < a.Length / stride; row++)
            for (int c = offset; c < offset + width; c++)
            {
                int i = row * stride + c;
                double d = (double)a[i] - b[i];
                num += d * d;
                den += (double)b[i] * b[i];
            }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>
    /// Spectral norm of the [n, hs] matrix of columns [offset, offset + hs) of a (minus b, when
    /// given) with rows of <paramref name="stride"/>: √λ_max of its hs×hs Gram matrix, by power iteration.
    /// </summary>
    internal static double SpectralNorm(float[] a, float[]? b, int stride, int offset, int n, int hs)
    {
        var gram = new double[hs * hs];
        var row = new double[hs];
        for (int i = 0; i < n; i++)
        {
            for (int d = 0; d < hs; d++) row[d] = a[i * stride + offset + d] - (b == null ? 0.0 : b[i * stride + offset + d]);
            for (int x = 0; x < hs; x++)
            {
                double rx = row[x];
                for (int y = 0; y <= x; y++) gram[x * hs + y] += rx * row[y];
            }
        }
        for (int x = 0; x < hs; x++)
            for (int y = 0; y < x; y++) gram[y * hs + x] = gram[x * hs + y];
        // Power iteration from a generic start: the Gram matrix is symmetric positive
        // semi-definite, so xᵀGx over unit x rises to λ_max; 500 steps of a 64×64 product are free.
        var v = new double[hs];
        var w = new double[hs];
        for (int d = 0; d < hs; d++) v[d] = 1.0 + 0.01 * d;
        double lambda = 0;
        for (int it = 0; it < 500; it++)
        {
            double norm = 0;
            for (int x = 0; x < hs; x++)
            {
                double s = 0;
                for (int y = 0; y < hs; y++) s += gram[x * hs + y] * v[y];
                w[x] = s;
                norm += s * s;
            }
            norm = Math.Sqrt(norm);
            if (norm == 0) return 0;
            double dot = 0;
            for (int x = 0; x < hs; x++) dot += v[x] * w[x];
            double vv = 0;
            for (int x = 0; x < hs; x++) vv += v[x] * v[x];
            lambda = dot / vv;
            for (int x = 0; x < hs; x++) v[x] = w[x] / norm;
        }
        return Math.Sqrt(Math.Max(0, lambda));
    }
}
