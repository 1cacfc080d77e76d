using System.Runtime.InteropServices;

namespace Hyper.Cli;

/// <summary>
/// Ctrl-C and SIGTERM as a cancellation token for long runs (train, hyperfit, hypernet train): the
/// first signal asks the run to stop after its current step and save, instead of killing the
/// process. Disposing it gives the signals back.
/// </summary>
public sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly ConsoleCancelEventHandler _onCancel;
    private readonly PosixSignalRegistration _term;

    /// <summary>Starts listening for Ctrl-C and SIGTERM.</summary>
    /// <param name="ranks">
    /// The ranks of a distributed run. Under mpirun a SIGTERM is the launcher ending the job (a
    /// rank died, or mpirun itself was interrupted): the peers may be gone, so the next all-reduce
    /// would never return. Such a rank ends at once instead, and rank 0 says why; the folder keeps
    /// its last complete checkpoint, since every save is staged and committed atomically.
    /// </param>
    /// <param name="outDir">The run folder, for that message.</param>
    public StopSignal(Hyper.Runtime.Distributed.ICollectives? ranks = null, string? outDir = null)
    {
        _onCancel = (_, e) => { e.Cancel = true; _cts.Cancel(); };
        Console.CancelKeyPress += _onCancel;
        bool distributed = ranks is { WorldSize: > 1 };
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            if (!distributed)
            {
                c.Cancel = true;
                _cts.Cancel();
                return;
            }
            if (ranks!.Rank == 0)
                Console.Error.WriteLine($"\nhyper: mpirun is ending the job (a rank died or the job was interrupted; mpirun names the rank); " +
                                        $"{outDir} keeps its last complete checkpoint: continue with --resume");
            c.Cancel = false; // the default action: this process ends now
        });
    }

    /// <summary>Cancelled when a signal arrives.</summary>
    public CancellationToken Token => _cts.Token;

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _term.Dispose();
        _cts.Dispose();
    }
}
