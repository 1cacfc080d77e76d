using System.Diagnostics;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// Times greedy decoding with the KV cache (<see cref="Gpt2Decoder"/>): per generation, one prefill
/// of a random prompt [B,P], then N decode steps, each feeding the B tokens picked last and picking
/// the next by argmax. bench/compare/bench_generate.py does the same in PyTorch.
/// </summary>
public static class GenerateBenchmark
{
    /// <summary>Timed decode steps between two interleaved reads of the parameter arena (a read costs about one step).</summary>
    public const int ReadEvery = 8;

    /// <summary>
    /// Runs <paramref name="warmup"/> untimed generations (the JIT tiers up the kernels over the
    /// first hundreds of calls; more while it is still compiling, for up to 5 s) and <paramref name="repeat"/> timed ones on <paramref name="model"/>,
    /// whose n_positions must hold P + N tokens. Steps are timed one by one, each including its
    /// argmax, since that is what a caller waits for. On the host backend the read bandwidth of the
    /// model's own parameter arena is measured too (<see cref="Kernels.Cpu.StreamRead"/>), the roof a
    /// batch-1 step is held against: one plain read of the arena after every <see cref="ReadEvery"/>
    /// timed steps, the median kept (<see cref="GenerateBenchmarkResult.ReadBytesPerS"/>), and the
    /// best of 5 back-to-back passes before and after the timed generations
    /// (<see cref="GenerateBenchmarkResult.ReadPeakBytesPerS"/>).
    /// </summary>
    /// <remarks>
    /// Why interleaved: the shared VMs this runs on change their memory bandwidth by up to 1.8x
    /// within one run (a plain read of a 538 MB arena measured 34 to 62 GB/s within one process on
    /// a 2-core Zen 4), so a best-of burst before the steps and a median over the steps sample different
    /// machines. Reads taken between the steps see the same spread the steps do; the peak is kept
    /// beside them as the strict bound.
    /// </remarks>
    /// <remarks>With <paramref name="profiler"/> (the backend <paramref name="model"/> was made on) the
    /// ops of the timed decode steps are timed one by one, prefills left out, and returned per step.</remarks>
    public static GenerateBenchmarkResult Run(ICausalLm model, int batch, int promptTokens, int newTokens, int warmup, int repeat,
        ulong seed = 1, Action<string>? progress = null, ProfilingBackend? profiler = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        if (profiler is not null && !ReferenceEquals(model.Backend, profiler))
            throw new ArgumentException("the model must run on the profiling backend to be profiled", nameof(profiler));
        int B = batch, P = promptTokens, N = newTokens, V = model.Config.VocabSize;
        if ((long)P + N > model.Config.Context)
            throw new ArgumentOutOfRangeException(nameof(newTokens),
                $"{P} prompt + {N} new tokens exceed the model's context of {model.Config.Context} tokens");

        var rng = new Rng(seed);
        var prompt = new int[B * P];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = rng.NextInt(V);
        using var decoder = model.CreateDecoder(B, P + N);
        var logits = new float[B * V];
        var next = new int[B];
        var generated = new int[B * N];
        var steps = new List<double>(repeat * N);
        var prefills = new List<double>(repeat);
        double? peak = null;
        var reads = new List<double>();
        var read = ArenaRead(model);
        // Warm-up generations: `warmup` of them and, when there are any, more while the JIT is still compiling (JitWarmup).
        int warmups = JitWarmup.Run(warmup, untilQuiet: warmup > 0, i =>
        {
            progress?.Invoke($"warm-up {i + 1}/{Math.Max(warmup, i + 1)}");
            Generate(timed: false);
        });
        peak = read?.Invoke(5);
        profiler?.Reset();
        for (int run = 0; run < repeat; run++)
        {
            progress?.Invoke($"generation {run + 1}/{repeat}");
            Generate(timed: true);
        }

        void Generate(bool timed)
        {
            decoder.Reset();
            if (profiler is not null) profiler.Paused = true;
            long t0 = Stopwatch.GetTimestamp();
            decoder.Feed(prompt, P, logits);
            Argmax(logits, next, V);
            double prefill = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (timed) prefills.Add(prefill);
            if (profiler is not null) profiler.Paused = false;
            for (int s = 0; s < N; s++)
            {
                t0 = Stopwatch.GetTimestamp();
                decoder.Feed(next, 1, logits);
                for (int b = 0; b < B; b++) generated[b * N + s] = next[b];
                Argmax(logits, next, V);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (timed) steps.Add(ms);
                if (timed && read is not null && steps.Count % ReadEvery == 0) reads.Add(read(1));
            }
        }

        if (read is not null) peak = Math.Max(peak!.Value, read(5));
        double? bandwidth = reads.Count > 0 ? Median(reads) : peak;
        double decodeMs = steps.Sum();
        var ops = profiler?.Totals.Select(t => (t.Op, t.Seconds * 1000 / steps.Count, (double)t.Calls / steps.Count)).ToList();
        return new GenerateBenchmarkResult(model.Backend.Name, model.Config, model.Layout.Parameters, B, P, N, warmups, repeat,
            TokensPerS: (double)N * B * repeat * 1000.0 / decodeMs, MsPerToken: Median(steps), MsMin: steps.Min(),
            PrefillMs: Median(prefills), Prompt: prompt, Generated: generated,
            WeightBytesPerStep: WeightBytes(model), ReadBytesPerS: bandwidth, ReadPeakBytesPerS: peak, Profile: ops);
    }

    /// <summary>
    /// The parameter floats one decode step reads in full: every block tensor and the head, plus
    /// the token embedding when the head is tied to it (an embedding table that is only looked up,
    /// such as GPT-2's positions or an untied Llama's embedding, costs one row, not counted).
    /// </summary>
    public static long DecodeWeightFloats(ParameterLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        long floats = 0, vocabRows = 0;
        bool headMatrix = false;
        foreach (var e in layout.Entries)
        {
            if (e.Part != LayoutPart.Embedding) floats += e.Count;
            if (e.Part == LayoutPart.Head && e.Shape.Length == 2) headMatrix = true;
        }
        // Tied: the head is the first embedding matrix (token rows); GPT-2's wte, Llama's embed.
        foreach (var e in layout.Entries)
            if (e.Part == LayoutPart.Embedding && e.Shape.Length == 2) { vocabRows = e.Count; break; }
        return headMatrix ? floats : floats + vocabRows;
    }

    /// <summary>The bytes a decode step reads: <see cref="DecodeWeightFloats"/>, with the matmul weights in their packed format (see <see cref="ILowPrecisionBackend"/>).</summary>
    private static long WeightBytes(ICausalLm model)
    {
        long bytes = DecodeWeightFloats(model.Layout) * sizeof(float);
        var backend = model.Backend is ProfilingBackend profiler ? profiler.Inner : model.Backend;
        return backend is ILowPrecisionBackend lp ? bytes - lp.PackedFloats * sizeof(float) + lp.PackedBytes : bytes;
    }

    /// <summary>
    /// The best of n plain reads of the model's parameter arena, in bytes per second; null off the host
    /// backend, and where the matmul weights were loaded as bf16 copies only: their arena pages were
    /// never written, and a read of those would time the kernel's zero page, not memory.
    /// </summary>
    private static Func<int, double>? ArenaRead(ICausalLm model)
    {
        var p = model.Parameters;
        if (p.Buffer is not HostBuffer host || p.Length > int.MaxValue || CpuBackend.Of(model.Backend)?.HoldsPackedOnly(p.Buffer) == true) return null;
        return n => Kernels.Cpu.StreamRead.BytesPerSecond(host.Span(p.Offset, p.Length), n);
    }

    /// <summary>next[b] = the first index of the largest of logits[b, :] (greedy decoding).</summary>
    private static void Argmax(ReadOnlySpan<float> logits, Span<int> next, int V)
    {
        for (int b = 0; b < next.Length; b++)
        {
            var row = logits.Slice(b * V, V);
            int best = 0;
            for (int j = 1; j < V; j++)
                if (row[j] > row[best]) best = j;
            next[b] = best;
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
