using System.Diagnostics;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// The kernel lab (llm.c's dev/cuda): every variant a backend offers for an op is first run on
/// seeded inputs and checked against the reference backend, and only then timed (median of
/// repeats after a warm-up). The reference runs on at most <see cref="MatmulCheckRows"/> rows of
/// a matmul (rows are independent, and 4096³ in scalar loops would take minutes).
/// <para>
/// A device fault (<see cref="DeviceFaultException"/>: a failed launch or synchronise) fails the
/// variant it happened in, with the device's message, and nothing more is run on that backend: CUDA's
/// errors are sticky, so every later variant would fail or time garbage on the poisoned context.
/// Those variants, at every shape still to come, are reported skipped ("context poisoned after
/// &lt;variant&gt;"). A variant left out of the native build (<see cref="VariantNotBuiltException"/>) is
/// reported skipped too, and the lab goes on.
/// </para>
/// </summary>
public static class KernelLab
{
    /// <summary>Largest relative error a variant may have: fp32 sums in another order differ by
    /// ~1e-6 relative even at K = 4096; an indexing or masking bug gives an error of order 1.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// The same for the low-precision weight variants, which are checked against the fp32 reference, so
    /// their rounding counts: per weight up to 2^-8 relative for bf16 and d/2 = max|block|/254 for q8,
    /// on the random inputs an output error of ~1e-3 and ~4e-3 relative; four times that is allowed.
    /// </summary>
    public static double ToleranceOf(Kernels.WeightFormat format) => format switch
    {
        Kernels.WeightFormat.Bf16 => 4e-3,
        Kernels.WeightFormat.Q8 => 1.6e-2,
        _ => Tolerance,
    };

    /// <summary>
    /// The same for the TF32 tensor-core variants (names ending in tf32), which round every input to a
    /// 10-bit mantissa: unit roundoff 2^-11 ≈ 4.9e-4 per operand, so each product is off by up to
    /// 2^-10 ≈ 9.8e-4 relative, and on the lab's random inputs (rounding errors of random sign) the
    /// norm-wise error of an output stays about that or below. Five times the per-product bound is
    /// allowed; a wrong index or a dropped tile still gives an error of order 1.
    /// </summary>
    public const double Tf32Tolerance = 5e-3;

    /// <summary>The tolerance of a variant: TF32 by its name, otherwise by its weight format.</summary>
    public static double ToleranceOf(string variant, Kernels.WeightFormat format)
        => variant.EndsWith("tf32", StringComparison.Ordinal) ? Tf32Tolerance : ToleranceOf(format);

    /// <summary>Rows of a matmul the reference computes for the check.</summary>
    public const int MatmulCheckRows = 64;

    /// <summary>The ops the lab can run, with the meaning of their dimensions and default sizes.</summary>
    public static IReadOnlyList<(string Name, Op Op, string Dims, string Default)> Ops { get; } =
    [
        ("matmul", Op.Matmul, "NxCxOC", "512x512x512"),
        ("attention", Op.Attention, "BxTxCxNH (causal)", "4x256x256x4"),
        ("layernorm", Op.LayerNorm, "NxC", "4096x768"),
        ("gelu", Op.Gelu, "N", "1048576"),
        ("residual", Op.Residual, "N", "1048576"),
        ("softmax_cross_entropy", Op.SoftmaxCrossEntropy, "NxV", "64x50257"),
        ("adamw", Op.AdamW, "N", "1048576"),
    ];

    /// <summary>Variants to run: those the backend offers for the op (or "default"), all or the one named.</summary>
    public static IReadOnlyList<string> VariantsToRun(IBackend backend, Op op, string variant)
    {
        IReadOnlyList<string> offered = backend is IKernelVariants lab && lab.VariantsOf(op).Count > 0 ? lab.VariantsOf(op) : ["default"];
        // A matmul's low-precision weights are variants here (the default kernel reading bf16 or q8
        // weights), not in IKernelVariants: they do not compute the fp32 op the op suite checks.
        if (op == Op.Matmul && backend is ILowPrecisionBackend lp) offered = [.. offered, .. lp.WeightFormats.Select(LowPrecision.Name)];
        if (variant == "all") return offered;
        return offered.Contains(variant) ? [variant]
            : throw new SettingException("Variant", $"{backend.Name} has no {op} variant '{variant}' (known: {string.Join(", ", offered)}, all)");
    }

    /// <summary>Checks then times each variant of <paramref name="opName"/> at <paramref name="dims"/>, yielding results as they come.</summary>
    public static IEnumerable<KernelLabResult> Run(IBackend backend, string opName, int[] dims, IReadOnlyList<string> variants, int repeats, int warmup)
        => Run(backend, opName, [dims], variants, repeats, warmup);

    /// <summary>Bytes of distinct copies of a case that a cold run cycles through: more than the last-level cache of any machine here.</summary>
    public const long ColdBytes = 512L << 20;

    /// <summary>
    /// How many copies of a case's arrays (<paramref name="bytes"/> in all) a run cycles through: 1 warm (every call reads the same arrays, from cache
    /// when they fit), else enough for <see cref="ColdBytes"/> and at least 2, so every call reads its arrays from memory.
    /// </summary>
    public static int Copies(long bytes, bool cold)
        => cold ? (int)Math.Clamp((ColdBytes + Math.Max(1, bytes) - 1) / Math.Max(1, bytes), 2, MaxCopies) : 1;

    /// <summary>The most copies a cold run makes: a case under <see cref="ColdBytes"/> / MaxCopies (2 MiB) is partly served from cache even then.</summary>
    public const int MaxCopies = 256;

    /// <summary>
    /// Checks then times each variant of <paramref name="opName"/> at each of <paramref name="shapes"/>
    /// in turn, yielding results as they come; after a device fault the rest are skipped (see the class).
    /// </summary>
    public static IEnumerable<KernelLabResult> Run(IBackend backend, string opName, IReadOnlyList<int[]> shapes, IReadOnlyList<string> variants,
        int repeats, int warmup, bool cold = false)
    {
        var op = Ops.First(o => o.Name == opName).Op;
        var lab = backend as IKernelVariants;
        string? initial = lab is not null && lab.VariantsOf(op).Count > 0 ? lab.VariantOf(op) : null;
        string? poisonedBy = null;
        try
        {
            foreach (int[] dims in shapes)
            {
                var full = Build(opName, dims, checkOnly: false);
                float[][]? expected = null; // computed for the first variant that runs, none on a poisoned context
                foreach (string variant in variants)
                {
                    if (poisonedBy is not null)
                    {
                        yield return Skipped(opName, backend, variant, full.Shape, $"context poisoned after {poisonedBy}");
                        continue;
                    }
                    if (expected is null)
                        using (var reference = new ReferenceBackend()) expected = Execute(reference, Build(opName, dims, checkOnly: true));
                    var format = op == Op.Matmul && LowPrecision.Names.Contains(variant) ? LowPrecision.Parse(variant) : Kernels.WeightFormat.F32;
                    if (format != Kernels.WeightFormat.F32)
                    {
                        if (initial is not null) lab!.UseVariant(op, initial);
                        LowPrecision.Use(backend, format);
                    }
                    else if (initial is not null) lab!.UseVariant(op, variant);
                    var (result, faulted) = Measure(backend, opName, variant, full, expected, repeats, warmup, format, cold);
                    if (faulted) poisonedBy = shapes.Count > 1 ? $"{variant} ({full.Shape})" : variant;
                    yield return result;
                    if (!faulted) LowPrecision.Use(backend, Kernels.WeightFormat.F32);
                }
            }
        }
        finally
        {
            // Variant choices are host-side state, safe to restore even on a poisoned context.
            if (initial is not null) lab!.UseVariant(op, initial);
            if (poisonedBy is null) LowPrecision.Use(backend, Kernels.WeightFormat.F32);
        }
    }

    /// <summary>
    /// Whether a run passed: every variant within tolerance or skipped. A variant skipped for a poisoned
    /// context still fails the run, through the failed variant whose device fault poisoned it.
    /// </summary>
    public static bool AllPassed(IEnumerable<KernelLabResult> results) => results.All(x => x.Ok || x.Skipped);

    private static KernelLabResult Skipped(string opName, IBackend backend, string variant, string shape, string why)
        => new(opName, backend.Name, variant, shape, null, null, null, double.NaN, false, why, Skipped: true);

    // Faulted: the device reported an error, so its context is not to be used again.
    private static (KernelLabResult Result, bool Faulted) Measure(IBackend backend, string opName, string variant, Case c, float[][] expected,
        int repeats, int warmup, Kernels.WeightFormat format, bool cold)
    {
        try
        {
            return (CheckThenTime(backend, opName, variant, c, expected, repeats, warmup, format, cold), false);
        }
        catch (DeviceFaultException e)
        {
            return (new KernelLabResult(opName, backend.Name, variant, c.Shape, null, null, null, double.NaN, false, $"device fault: {e.Message}"), true);
        }
        catch (VariantNotBuiltException e)
        {
            return (Skipped(opName, backend, variant, c.Shape, $"not built: {e.Message}"), false);
        }
    }

    private static KernelLabResult CheckThenTime(IBackend backend, string opName, string variant, Case c, float[][] expected, int repeats, int warmup,
        Kernels.WeightFormat format, bool cold)
    {
        // Copy k of the arrays is sets[k]; call i reads copy i mod copies (the check, copy 0).
        int copies = Copies(4L * c.Arrays.Sum(a => (long)a.Length), cold);
        var sets = new List<DeviceBuffer[]>(copies);
        try
        {
            for (int k = 0; k < copies; k++)
            {
                var set = c.Arrays.Select(a => backend.Allocate(a.Length)).ToArray();
                sets.Add(set);
                for (int i = 0; i < set.Length; i++) backend.Upload(c.Arrays[i], set[i].All);
            }
            var copyViews = sets.Select(set => set.Select(b => b.All).ToArray()).ToArray();
            var views = copyViews[0];
            double error;
            try
            {
                c.Run(backend, views);
                error = 0;
                for (int k = 0; k < c.Outputs.Length; k++)
                {
                    var actual = new float[expected[k].Length]; // the checked prefix (first rows of a matmul)
                    backend.Download(views[c.Outputs[k]].Slice(0, actual.Length), actual);
                    error = Math.Max(error, RelativeError(actual, expected[k]));
                }
            }
            catch (Exception e) when (e is ArgumentException || (e is InvalidOperationException && e is not DeviceFaultException))
            {
                return new KernelLabResult(opName, backend.Name, variant, c.Shape, null, null, null, double.NaN, false, e.Message);
            }
            double tolerance = ToleranceOf(variant, format);
            if (!(error <= tolerance))
                return new KernelLabResult(opName, backend.Name, variant, c.Shape, null, null, null, error, false, $"relative error {error:E2} is over {tolerance:E1}");

            // A one-float download after each call waits for an asynchronous device to finish.
            var one = new float[1];
            var syncs = copyViews.Select(v => v[c.Outputs[0]].Slice(0, 1)).ToArray();
            // A cold run calls every copy once first: a low-precision format packs each copy's weights on its first call.
            JitWarmup.Run(Math.Max(warmup, copies > 1 ? copies : 0), untilQuiet: warmup > 0, i =>
            {
                c.Run(backend, copyViews[i % copies]);
                backend.Download(syncs[i % copies], one);
            });
            var times = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                long start = Stopwatch.GetTimestamp();
                c.Run(backend, copyViews[i % copies]);
                backend.Download(syncs[i % copies], one);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            backend.Synchronize(); // a fault in the last timed call is this variant's, not the next one's
            Array.Sort(times);
            double ms = times[repeats / 2];
            double? gflops = c.Flops > 0 ? c.Flops / (ms * 1e6) : null;
            // Bytes the call must move at least: every array once, the weights in their format (a fallback reads fp32 copies).
            double bytes = 4.0 * c.Arrays.Sum(a => (long)a.Length);
            if (c.Weight is var (oc, cc) && backend is ILowPrecisionBackend lp && lp.IsNative(format)) bytes += LowPrecision.Bytes(format, oc, cc) - LowPrecision.Bytes(Kernels.WeightFormat.F32, oc, cc);
            return new KernelLabResult(opName, backend.Name, variant, c.Shape, ms, gflops, bytes / (ms * 1e6), error, true, null);
        }
        finally
        {
            foreach (var set in sets)
                foreach (var b in set) b.Dispose();
        }
    }

    private static float[][] Execute(IBackend backend, Case c)
    {
        var buffers = c.Arrays.Select(a => backend.Allocate(a.Length)).ToArray();
        try
        {
            var views = buffers.Select(b => b.All).ToArray();
            for (int i = 0; i < buffers.Length; i++) backend.Upload(c.Arrays[i], views[i]);
            c.Run(backend, views);
            return c.Outputs.Select(k =>
            {
                var host = new float[views[k].Length];
                backend.Download(views[k], host);
                return host;
            }).ToArray();
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    private static double RelativeError(float[] actual, float[] expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
    }

    /// <summary>One op call: its arrays (inputs and outputs, uploaded before the call), which of them it writes, and its FLOPs.</summary>
    private sealed record Case(string Shape, float[][] Arrays, int[] Outputs, Action<IBackend, TensorView[]> Run, double Flops, (long OC, long C)? Weight = null);

    // checkOnly: the inputs for the reference check, a matmul cut to its first rows. Arrays come
    // from one seeded stream each, so the cut rows equal the first rows of the full case.
    private static Case Build(string op, int[] d, bool checkOnly)
    {
        switch (op)
        {
            case "matmul":
            {
                int N = checkOnly ? Math.Min(d[0], MatmulCheckRows) : d[0], C = d[1], OC = d[2];
                return new Case($"N={d[0]} C={C} OC={OC}", [new float[(long)N * OC], Random((long)N * C, 1), Random((long)OC * C, 2), Random(OC, 3)], [0],
                    (be, v) => be.MatmulForward(v[0], v[1], v[2], v[3], N, C, OC), 2.0 * N * C * OC, (OC, C));
            }
            case "attention":
            {
                int B = d[0], T = d[1], C = d[2], NH = d[3];
                // Causal: half of the 4·B·T²·C FLOPs of q·kᵀ and p·v.
                return new Case($"B={B} T={T} C={C} NH={NH}", [new float[(long)B * T * C], new float[(long)B * NH * T], Random((long)B * T * 3 * C, 4)], [0, 1],
                    (be, v) => be.AttentionForward(v[0], v[1], v[2], B, T, C, NH, causal: true), 2.0 * B * T * T * C);
            }
            case "layernorm":
            {
                int N = d[0], C = d[1];
                return new Case($"N={N} C={C}", [new float[(long)N * C], new float[N], new float[N], Random((long)N * C, 5), Random(C, 6), Random(C, 7)], [0, 1, 2],
                    (be, v) => be.LayerNormForward(v[0], v[1], v[2], v[3], v[4], v[5], N, C, 1e-5f), 0);
            }
            case "gelu":
                return new Case($"N={d[0]}", [new float[d[0]], Random(d[0], 8)], [0], (be, v) => be.GeluForward(v[0], v[1], d[0]), 0);
            case "residual":
                return new Case($"N={d[0]}", [new float[d[0]], Random(d[0], 9), Random(d[0], 10)], [0], (be, v) => be.ResidualForward(v[0], v[1], v[2], d[0]), 0);
            case "softmax_cross_entropy":
            {
                // Rows padded as the models pad their vocabulary (50257 runs in rows of 50304).
                int N = d[0], V = d[1], Vp = VocabularyPadding.Padded(V, VocabularyPadding.DefaultMultiple);
                var targets = Enumerable.Range(0, N).Select(n => n * 7919 % V).ToArray();
                return new Case($"N={N} V={V} Vp={Vp}", [new float[N], new float[(long)N * Vp], Random((long)N * Vp, 11)], [0, 1],
                    (be, v) => be.SoftmaxCrossEntropyForward(v[0], v[1], v[2], targets, N, V, Vp), 0);
            }
            case "adamw":
            {
                int N = d[0];
                var second = Random(N, 13);
                for (int i = 0; i < N; i++) second[i] *= second[i]; // v is a running mean of squares: not negative
                return new Case($"N={N}", [Random(N, 12), Random(N, 14), second, Random(N, 15)], [0, 1, 2],
                    (be, v) => be.AdamWUpdate(v[0], v[1], v[2], v[3], 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 2, 1f), 0);
            }
            default:
                throw new ArgumentException($"unknown op '{op}'");
        }
    }

    private static float[] Random(long n, int seed)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}
