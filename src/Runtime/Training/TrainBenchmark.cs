using System.Diagnostics;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Training;

/// <summary>Times full training steps (forward, backward, clip, AdamW) on random tokens.</summary>
public static class TrainBenchmark
{
    /// <summary>What one benchmark run measured.</summary>
    public sealed record Result(
        string Model, string Backend, int Batch, int Seq, int Steps, int Warmup, long Parameters,
        double MsPerStep, double MsMin, double TokensPerS, double FlopsPerStep, double GflopsPerS, float FinalLoss,
        IReadOnlyList<(string Op, double MsPerStep, long CallsPerStep)>? Profile = null);

    /// <summary>
    /// Runs <paramref name="warmup"/> untimed steps (the JIT's tiered compilation settles over the
    /// first dozens of calls) and then <paramref name="steps"/> timed ones; reports the median.
    /// </summary>
    /// <remarks>With <paramref name="profile"/> the ops are timed one by one (after the warm-up) and the
    /// per-op time per step is returned; the step time then includes that bookkeeping.</remarks>
    public static Result Run(string modelName, IModelConfig config, IBackend backend, int B, int T, int steps, int warmup,
        Action<int, int, double>? progress = null, bool profile = false)
    {
        var profiler = profile ? new ProfilingBackend(backend) : null;
        if (profiler is not null) backend = profiler;
        if (T > config.Context)
            throw new SettingException("Seq", $"{T} exceeds the model's n_positions ({config.Context})");
        using var model = Architectures.Create(config, backend);
        model.InitializeWeights(1337);
        var rng = new Rng(42);
        var tokens = new int[B * T];
        var targets = new int[B * T];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = rng.NextInt(config.VocabSize);
            targets[i] = rng.NextInt(config.VocabSize);
        }
        var adam = new AdamWSettings { WeightDecay = 0.1f };
        var times = new List<double>();
        float loss = 0;
        for (int s = 0; s < warmup + steps; s++)
        {
            // Synchronised at both ends: an asynchronous device would otherwise be timed on its
            // launches, with the last step's AdamW still running when the clock stops.
            backend.Synchronize();
            long t0 = Stopwatch.GetTimestamp();
            model.ZeroGradients();
            loss = model.Forward(tokens, targets, B, T);
            model.Backward();
            model.Update(3e-4f, adam);
            backend.Synchronize();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (s >= warmup) times.Add(ms);
            if (s + 1 == warmup) profiler?.Reset();
            progress?.Invoke(s + 1, warmup + steps, ms);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : 0.5 * (times[times.Count / 2 - 1] + times[times.Count / 2]);
        double flops = config.TrainingFlops(B, T);
        var ops = profiler?.Totals.Select(t => (t.Op, t.Seconds * 1000 / steps, t.Calls / steps)).ToList();
        return new Result(modelName, backend.Name, B, T, steps, warmup, model.Layout.Parameters,
            median, times[0], B * T * 1000.0 / median, flops, flops / (median * 1e6), loss, ops);
    }
}
