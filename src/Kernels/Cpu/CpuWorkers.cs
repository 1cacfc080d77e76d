using System.Diagnostics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Fork/join for the short, frequent kernels of decoding (a matrix-vector product or a cache
/// attention: 10 to 500 µs each, about 30 per token), where <see cref="CpuParallel.For"/>'s
/// Parallel.For costs more than the second core gives back.
/// <para>
/// <see cref="CpuParallel.Threads"/> − 1 dedicated workers sleep on a semaphore; a job is published,
/// the workers are woken, and the caller starts on the chunks at once, claiming them from a shared
/// counter alongside the workers. A worker that wakes late finds fewer chunks left (or none), so the
/// caller never waits for a worker to start, only for chunks a worker has already claimed. Workers
/// block again right after each job (SemaphoreSlim spins briefly first, which covers the few µs
/// between one token's kernels) instead of spinning for the next. Measured over the 10M model's
/// decode steps, alternating the schemes within one process: on the loaded 2-core machine (load
/// average 6-10) the median step took 2.40 ms on one thread, 2.51 ms with these workers, 2.92 ms with
/// Parallel.For and 4.1-6.5 ms with workers that spun 50 µs to 1 ms between jobs (a spinning thread
/// uses up its time slice and is preempted in the middle of a chunk, which the caller then waits
/// for, while a thread that has just woken runs its chunk through); at load average 1.5, 2.01 ms on
/// one thread, 1.36 ms with these workers (joining 0.4 µs after the publish, taking 49% of the
/// chunks) and 1.32 ms with spinning ones.
/// </para>
/// <para>
/// When the workers stop paying (their measured speedup over the caller alone averages below
/// <see cref="WorkerPolicy.MinSpeedup"/>: the other cores are busy), the next jobs run on the caller alone, then
/// the workers are tried again. How many run inline backs off: <see cref="WorkerPolicy.MinInlineJobs"/> after a
/// trip that follows a long healthy stretch (on an idle machine a stray process or a GC pause trips
/// the average about once per 256-token generation, and a fixed 2,048-job pause then cost ~66 steps
/// at one-thread speed: the decode tail), doubling with each trip that comes soon after the last, up
/// to <see cref="WorkerPolicy.MaxInlineJobs"/> (a machine that stays loaded settles on long inline stretches).
/// </para>
/// <para>
/// Chunks are independent and fixed by the caller's shape, never by timing, so results are
/// bit-identical whoever runs which chunk. One job runs at a time; a call made while another is
/// running (from another thread, or from inside a chunk) runs its chunks inline.
/// </para>
/// </summary>
internal static class CpuWorkers
{
    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly List<Thread> Workers = [];
    private static Job? s_job;
    private static int s_busy; // 1 while a job is published

    // Adaptivity, touched only by the thread holding s_busy.
    private static readonly WorkerPolicy Policy = new();

    /// <summary>One published job: chunks [0, Count) of Body, claimed through Next.</summary>
    private sealed class Job(Action<int> body, int count, int workers)
    {
        public readonly Action<int> Body = body;
        public readonly int Count = count;
        public readonly int Workers = workers; // how many workers may join (CpuParallel.Threads − 1 when published)
        public int Next;
        public int Done;
        public int Joined;
        public Exception? Error;
    }

    /// <summary>
    /// Runs <paramref name="body"/>(i) for every i in [0, count) on the caller and the workers;
    /// returns when all are done. Each index must write only its own outputs.
    /// </summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        int workers = CpuParallel.Threads - 1;
        if (count == 1 || workers <= 0 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            if (Policy.TakeInline())
            {
                for (int i = 0; i < count; i++) body(i);
                return;
            }
            lock (Workers)
                while (Workers.Count < workers) Start();
            var job = new Job(body, count, workers);
            long t0 = Stopwatch.GetTimestamp();
            Volatile.Write(ref s_job, job);
            Wake.Release(Math.Min(workers, count - 1));
            int mine = Run(job);
            long t1 = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Done) < count) spin.SpinOnce(sleep1Threshold: -1);
            long t2 = Stopwatch.GetTimestamp();
            Volatile.Write(ref s_job, null);
            Adapt(count, mine, t1 - t0, t2 - t0);
            if (job.Error is { } e) throw new AggregateException(e);
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    /// <summary>
    /// Splits [0, n) into contiguous ranges of at least <paramref name="minChunk"/> items — up to
    /// four per thread, so a worker that wakes late costs a part of its share, not all of it — and
    /// runs <paramref name="body"/>(start, end) on each. The ranges depend on n, minChunk and the
    /// thread count only.
    /// </summary>
    public static void ForRange(int n, int minChunk, Action<int, int> body)
    {
        if (n <= 0) return;
        int chunks = Math.Clamp(n / Math.Max(1, minChunk), 1, 4 * CpuParallel.Threads);
        if (chunks == 1 || CpuParallel.Threads == 1)
        {
            body(0, n);
            return;
        }
        For(chunks, c => body((int)((long)n * c / chunks), (int)((long)n * (c + 1) / chunks)));
    }

    /// <summary>Claims and runs chunks until none are left; returns how many this thread ran.</summary>
    private static int Run(Job job)
    {
        int i, ran = 0;
        while ((i = Interlocked.Increment(ref job.Next) - 1) < job.Count)
        {
            try { job.Body(i); }
            catch (Exception e) { Interlocked.CompareExchange(ref job.Error, e, null); }
            Interlocked.Increment(ref job.Done);
            ran++;
        }
        return ran;
    }

    /// <summary>
    /// Measures a job's speedup — the caller's own pace (its chunks over its time) says how long the
    /// job would have taken alone — and hands it to the policy. On a machine whose other cores are
    /// busy the workers wake late or are preempted mid-chunk, and waiting for them made decode steps
    /// up to 30% slower than one thread. Only speed depends on this, never results.
    /// </summary>
    private static void Adapt(int count, int mine, long callerTicks, long totalTicks)
    {
        if (mine == 0 || totalTicks <= 0) return;
        double alone = (double)callerTicks / mine * count;
        Policy.Record(alone / totalTicks);
    }

    private static void Start()
    {
        var thread = new Thread(Work) { IsBackground = true, Name = $"hyper-worker-{Workers.Count + 1}" };
        Workers.Add(thread);
        thread.Start();
    }

    private static void Work()
    {
        while (true)
        {
            Wake.Wait();
            // A wake for a job that is already over (this worker was late) finds null or a job with
            // no chunks left; a smaller CpuParallel.Threads since the workers started keeps extra ones out.
            var job = Volatile.Read(ref s_job);
            if (job != null && Interlocked.Increment(ref job.Joined) <= job.Workers) Run(job);
        }
    }
}
