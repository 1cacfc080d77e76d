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
    public StopSignal()
    {
        _onCancel = (_, e) => { e.Cancel = true; _cts.Cancel(); };
        Console.CancelKeyPress += _onCancel;
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _cts.Cancel(); });
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
