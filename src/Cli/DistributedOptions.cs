using System.CommandLine;
using Hyper.Runtime.Distributed;

namespace Hyper.Cli;

/// <summary>
/// --distributed and --threads, shared by the commands that train: which collectives join this
/// process to its peers (launched as <c>mpirun -np N hyper train ...</c>), and how many kernel
/// threads each rank runs.
/// </summary>
public sealed class DistributedOptions
{
    /// <summary>Whether this process prints: rank 0 of a distributed run, or a single process. Set by <see cref="Open"/>.</summary>
    public static bool Speaks { get; private set; } = true;

    private readonly Option<string> _distributed = new("--distributed")
    {
        Description = "none (one process), mpi (CPU ranks on one or many machines: launch with mpirun -np N hyper ...; needs Open MPI) or nccl " +
                      "(one GPU per rank with --device cuda; MPI launches and carries NCCL's id). Every rank takes --batch / ranks sequences of each " +
                      "step; rank 0 alone writes --out and prints.",
        DefaultValueFactory = _ => "none",
    };

    private readonly Option<int> _threads = new("--threads")
    {
        Description = "CPU kernel threads of this process (each rank); default: the cores this process may run on (its affinity, which mpirun sets per rank).",
    };

    private readonly Option<double> _bucketMb = new("--bucket-mb")
    {
        Description = "With --distributed mpi: sum the gradients over the ranks in buckets of about this many MB (runs of whole blocks, " +
                      "from the last) on a thread of their own while the backward goes on, instead of in one all-reduce after it. " +
                      "0 (default): one all-reduce after the backward; on one machine whose cores all run ranks the extra thread " +
                      "competes with them (see docs/data-parallel.md).",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>Adds the options to a command.</summary>
    public void AddTo(Command cmd)
    {
        cmd.Add(_distributed);
        cmd.Add(_threads);
        cmd.Add(_bucketMb);
    }

    /// <summary>--bucket-mb in bytes (0: no buckets).</summary>
    public long BucketBytes(ParseResult r)
    {
        double mb = r.GetValue(_bucketMb);
        if (!(mb >= 0) || mb > 1e6) throw new CliException($"--bucket-mb must be between 0 and 1e6, not {mb}");
        return mb == 0 ? 0 : Math.Max(1, (long)(mb * 1e6));
    }

    /// <summary>
    /// Runs <paramref name="body"/> on the ranks the flags name (see <see cref="Open"/>) and leaves
    /// them (MPI_Finalize) when it returns. An exception leaves without finalizing, on purpose:
    /// MPI_Finalize waits for every rank, and a rank that failed alone (a full disk on rank 0)
    /// would wait forever for peers blocked in the next all-reduce. Exiting unfinalized makes
    /// mpirun end the whole job instead.
    /// </summary>
    public int Run(ParseResult r, string device, Func<ICollectives, int> body)
    {
        var ranks = Open(r, device);
        int code = body(ranks);
        ranks.Dispose();
        return code;
    }

    /// <summary>
    /// Sets the thread count and joins the ranks the flags name; the caller disposes the result
    /// (MPI_Finalize) when the run ends. Only rank 0 <see cref="Speaks"/> afterwards.
    /// </summary>
    public ICollectives Open(ParseResult r, string device)
    {
        int threads = r.GetValue(_threads);
        if (threads < 0) throw new CliException("--threads must not be negative");
        if (threads > 0) Hyper.Kernels.Cpu.CpuParallel.Threads = threads;
        ICollectives c = r.GetValue(_distributed) switch
        {
            "none" => SingleProcess.Instance,
            "mpi" => new Mpi(),
            "nccl" when device != "cuda" => throw new CliException($"--distributed nccl reduces on the GPU and needs --device cuda, not --device {device}"),
            "nccl" => Nccl.Open(new Mpi()),
            var other => throw new CliException($"--distributed must be none, mpi or nccl, not '{other}'"),
        };
        Speaks = c.Rank == 0;
        return c;
    }
}
