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
        double MsPerStep, double MsMin, double TokensPerS, double FlopsPerStep, double GflopsPerS, float FinalLoss);

    /// <summary>
    /// Runs <paramref name="warmup"/> untimed steps (the JIT's tiered compilation settles over the
    /// first dozens of calls) and then <paramref name="steps"/> timed ones; reports the median.
    /// </summary>
    public static Result Run(string modelName, Gpt2Config config, IBackend backend, int B, int T, int steps, int warmup,
        Action<int, int, double>? progress = null)
    {
        if (T > config.NPositions)
            throw new ArgumentOutOfRangeException(nameof(T), $"--seq {T} exceeds the model's n_positions ({config.NPositions})");
        using var model = new Gpt2(config, backend);
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
            long t0 = Stopwatch.GetTimestamp();
            model.ZeroGradients();
            loss = model.Forward(tokens, targets, B, T);
            model.Backward();
            model.Update(3e-4f, adam);
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (s >= warmup) times.Add(ms);
            progress?.Invoke(s + 1, warmup + steps, ms);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : 0.5 * (times[times.Count / 2 - 1] + times[times.Count / 2]);
        double flops = Gpt2Flops.PerStep(config, B, T);
        return new Result(modelName, backend.Name, B, T, steps, warmup, model.Layout.Total,
            median, times[0], B * T * 1000.0 / median, flops, flops / (median * 1e6), loss);
    }
}
