using System.Diagnostics;

namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// Untimed rounds before a benchmark times anything. The tiered JIT runs a method's first calls unoptimised and
/// recompiles the hot ones in the background some 0.1 s later, on a core the kernels need, so a fixed count of
/// rounds can end before it has: the kernel lab timed the first shapes of a list on that code (q8 N=1 C=768
/// OC=1536: 0.36 ms after 200 warm-up calls against 0.038 ms with tiering off), and one warm-up generation of a
/// small model (~0.1 s) ended before the JIT did. So the rounds go on until the JIT has compiled nothing for
/// <see cref="Quiet"/>, at most <see cref="Limit"/>.
/// </summary>
public static class JitWarmup
{
    /// <summary>How long the JIT must have compiled nothing before a warm-up ends (longer than its 0.1 s call-counting delay).</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(0.3);

    /// <summary>The longest a warm-up waits for the JIT to go quiet.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="round"/>(i) for i = 0, 1, ...: at least <paramref name="minimum"/> times and, when
    /// <paramref name="untilQuiet"/>, until the JIT has been quiet for <see cref="Quiet"/> (or <see cref="Limit"/> has
    /// passed). Returns how many rounds ran.
    /// </summary>
    public static int Run(int minimum, bool untilQuiet, Action<int> round)
    {
        long start = Stopwatch.GetTimestamp(), quietSince = start, compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        int i = 0;
        for (; i < minimum || (untilQuiet && Stopwatch.GetElapsedTime(quietSince) < Quiet && Stopwatch.GetElapsedTime(start) < Limit); i++)
        {
            round(i);
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled) (compiled, quietSince) = (now, Stopwatch.GetTimestamp());
        }
        return i;
    }
}
