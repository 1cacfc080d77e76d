using System.Diagnostics;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// Times greedy decoding with the KV cache (<see cref="Gpt2Decoder"/>): per generation, one prefill
/// of a random prompt [B,P], then N decode steps, each feeding the B tokens picked last and picking
/// the next by argmax. bench/compare/bench_generate.py does the same in PyTorch.
/// </summary>
public static class GenerateBenchmark
{
    /// <summary>
    /// Runs <paramref name="warmup"/> untimed generations (the JIT tiers up the kernels over the
    /// first hundreds of calls) and <paramref name="repeat"/> timed ones on <paramref name="model"/>,
    /// whose n_positions must hold P + N tokens. Steps are timed one by one, each including its
    /// argmax, since that is what a caller waits for.
    /// </summary>
    public static GenerateBenchmarkResult Run(ICausalLm model, int batch, int promptTokens, int newTokens, int warmup, int repeat,
        ulong seed = 1, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
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
        for (int run = 0; run < warmup + repeat; run++)
        {
            bool timed = run >= warmup;
            progress?.Invoke(timed ? $"generation {run - warmup + 1}/{repeat}" : $"warm-up {run + 1}/{warmup}");
            decoder.Reset();
            long t0 = Stopwatch.GetTimestamp();
            decoder.Feed(prompt, P, logits);
            Argmax(logits, next, V);
            double prefill = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (timed) prefills.Add(prefill);
            for (int s = 0; s < N; s++)
            {
                t0 = Stopwatch.GetTimestamp();
                decoder.Feed(next, 1, logits);
                for (int b = 0; b < B; b++) generated[b * N + s] = next[b];
                Argmax(logits, next, V);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (timed) steps.Add(ms);
            }
        }
        double decodeMs = steps.Sum();
        return new GenerateBenchmarkResult(model.Backend.Name, model.Config, model.Layout.Total, B, P, N, warmup, repeat,
            TokensPerS: (double)N * B * repeat * 1000.0 / decodeMs, MsPerToken: Median(steps), MsMin: steps.Min(),
            PrefillMs: Median(prefills), Prompt: prompt, Generated: generated);
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
