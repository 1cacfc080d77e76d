using Hyper.Runtime.Models;

namespace Hyper.Runtime.Benchmarks;

/// <summary>What one <see cref="GenerateBenchmark.Run"/> measured (times in milliseconds).</summary>
/// <param name="Backend">Backend name.</param>
/// <param name="Config">The model's hyperparameters.</param>
/// <param name="Parameters">Parameter count.</param>
/// <param name="Batch">Rows decoded together (B).</param>
/// <param name="PromptTokens">Prompt tokens per row (P), run as one prefill.</param>
/// <param name="NewTokens">Decode steps per generation (N), each one new token per row.</param>
/// <param name="Warmup">Untimed generations run first (at least the number asked for; more while the JIT was still compiling).</param>
/// <param name="Repeat">Timed generations.</param>
/// <param name="TokensPerS">New tokens · B over the total decode time of the timed generations.</param>
/// <param name="MsPerToken">Median decode step.</param>
/// <param name="MsMin">Fastest decode step.</param>
/// <param name="PrefillMs">Median prefill (the prompt's forward and the first argmax).</param>
/// <param name="Prompt">The prompt tokens [B,P] (random from the seed; the same for every generation).</param>
/// <param name="Generated">The tokens [B,N] the last timed generation picked (greedy: every generation picks the same).</param>
/// <param name="WeightBytesPerStep">Parameter bytes one decode step reads (<see cref="GenerateBenchmark.DecodeWeightFloats"/>).</param>
/// <param name="ReadBytesPerS">Streaming-read bandwidth of the parameter arena, the median of reads interleaved with the timed steps (null off the host backend).</param>
/// <param name="ReadPeakBytesPerS">The best of back-to-back reads of the arena before and after the timed steps (null off the host backend).</param>
/// <param name="Profile">Per op: milliseconds and calls per decode step (null unless profiled).</param>
public sealed record GenerateBenchmarkResult(
    string Backend, IModelConfig Config, long Parameters, int Batch, int PromptTokens, int NewTokens, int Warmup, int Repeat,
    double TokensPerS, double MsPerToken, double MsMin, double PrefillMs, int[] Prompt, int[] Generated,
    long WeightBytesPerStep = 0, double? ReadBytesPerS = null, double? ReadPeakBytesPerS = null,
    IReadOnlyList<(string Op, double MsPerStep, double CallsPerStep)>? Profile = null)
{
    /// <summary>Decode steps per second if each only read its weights at <see cref="ReadBytesPerS"/> (the memory roof), null without a measurement.</summary>
    public double? RooflineStepsPerS => ReadBytesPerS is double bw && WeightBytesPerStep > 0 ? bw / WeightBytesPerStep : null;

    /// <summary>
    /// The memory roof's step time over the median step (<see cref="MsPerToken"/>): both medians over
    /// the same stretch of time, so a machine whose bandwidth wanders counts alike in both.
    /// </summary>
    public double? RooflineFraction => RooflineStepsPerS is double r ? 1000.0 / r / MsPerToken : null;

    /// <summary>As <see cref="RooflineFraction"/>, against the peak read (<see cref="ReadPeakBytesPerS"/>): the strict bound.</summary>
    public double? RooflinePeakFraction => ReadPeakBytesPerS is double bw && WeightBytesPerStep > 0 ? WeightBytesPerStep / bw * 1000.0 / MsPerToken : null;
}
