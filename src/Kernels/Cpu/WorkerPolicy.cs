namespace Hyper.Kernels.Cpu;

/// <summary>
/// When <see cref="CpuWorkers"/> should run jobs on the caller alone. It keeps an exponential
/// average of the workers' measured speedup (weight 0.05 per job, so one job where a worker was
/// preempted does not trip it, a run of about ten does); when the average falls below
/// <see cref="MinSpeedup"/>, the next jobs run inline. How many backs off: <see cref="MinInlineJobs"/>
/// after a trip that follows <see cref="HealthyJobs"/> good parallel jobs, doubling with each trip
/// that comes sooner, up to <see cref="MaxInlineJobs"/>. A stray hiccup on an idle machine so costs
/// two tokens' worth of one-thread decoding, and a machine that stays loaded settles on long
/// inline stretches, where each retry costs about ten slow jobs.
/// </summary>
internal sealed class WorkerPolicy
{
    /// <summary>Below this average speedup the workers are not worth their wake-ups.</summary>
    public const double MinSpeedup = 1.1;

    /// <summary>Fewest jobs run inline after a trip (about two tokens of the 10M model).</summary>
    public const int MinInlineJobs = 64;

    /// <summary>Most jobs run inline after a trip (about 60 tokens of the 10M model).</summary>
    public const int MaxInlineJobs = 2048;

    /// <summary>Parallel jobs without a trip after which the back-off resets.</summary>
    public const int HealthyJobs = 4096;

    private double _speedup = 2;
    private int _inlineLeft;
    private int _backoff = MinInlineJobs;
    private long _parallelJobs;

    /// <summary>The current average speedup.</summary>
    public double Speedup => _speedup;

    /// <summary>Inline jobs the next trip will cost.</summary>
    public int Backoff => _backoff;

    /// <summary>True when the next job should run on the caller alone (and counts it).</summary>
    public bool TakeInline()
    {
        if (_inlineLeft == 0) return false;
        _inlineLeft--;
        return true;
    }

    /// <summary>Records the measured speedup of a job the workers ran.</summary>
    public void Record(double speedup)
    {
        _speedup = 0.95 * _speedup + 0.05 * Math.Clamp(speedup, 0, 4);
        if (++_parallelJobs == HealthyJobs) _backoff = MinInlineJobs;
        if (_speedup >= MinSpeedup) return;
        _inlineLeft = _backoff;
        _backoff = Math.Min(2 * _backoff, MaxInlineJobs);
        _parallelJobs = 0;
        _speedup = 2;
    }
}
