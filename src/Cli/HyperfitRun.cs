using Hyper.Runtime.Hyperfitting;

namespace Hyper.Cli;

/// <summary>A hyperfitting run as the command line shows it (hyper hyperfit and the demo): progress, the epoch lines, the verdict.</summary>
public static class HyperfitRun
{
    /// <summary>
    /// Runs <see cref="Hyperfitter.Run"/> with a live progress line and one kept line per epoch on stderr;
    /// Ctrl-C or SIGTERM stops after the current step and saves.
    /// </summary>
    public static HyperfitResult WithProgress(HyperfitOptions o)
    {
        using var stop = new StopSignal(o.Collectives, o.OutDir);
        var line = new ProgressLine();
        HyperfitResult result;
        try
        {
            result = Hyperfitter.Run(o,
                p => line.Update($"epoch {p.Epoch}/{p.Epochs}  step {p.Step}/{p.StepsPerEpoch}  loss {p.Loss:F4}  {p.TokensPerS:N0} tok/s  ETA {ProgressLine.Format(p.Eta)}"),
                e => line.Update(EpochLine(e), keep: true),
                msg => line.Note(msg),
                stop.Token);
        }
        finally { line.Done(); } // an error then starts on a line of its own
        if (!DistributedOptions.Speaks) return result; // rank 0 reports
        if (result.NothingToDo)
        {
            Console.Error.WriteLine($"nothing to do: {result.OutDir} has done all {result.Epochs[^1].Epoch} epochs (--epochs {o.Epochs}); raise --epochs to go on");
            return result;
        }
        Console.Error.WriteLine(result.Interrupted
            ? $"interrupted after epoch {result.Epochs[^1].Epoch}: the model as it stood is saved to {result.OutDir}; continue with --resume"
            : $"done: {result.Steps} steps in {ProgressLine.Format(TimeSpan.FromSeconds(result.Seconds))}, final train loss {result.FinalTrainLoss:F4}; " +
              $"saved to {result.OutDir}, curves {result.PlotPath}");
        if (NotNearZeroHint(result, o) is string hint) Console.Error.WriteLine(hint);
        return result;
    }

    /// <summary>The loss below which a run counts as hyperfitted (the paper's "near zero"; the acceptance bar of docs/hyperfitting.md).</summary>
    public const double NearZeroLoss = 0.1;

    /// <summary>
    /// A finished run whose training loss is not near zero has not hyperfitted; the usual cause is the paper's
    /// learning rate on a model a thousand times smaller than the paper's, so say which flags to change.
    /// </summary>
    public static string? NotNearZeroHint(HyperfitResult result, HyperfitOptions o)
    {
        if (result.Interrupted || result.FinalTrainLoss is not double loss || loss < NearZeroLoss) return null;
        return FormattableString.Invariant(
            $"note: the final train loss {loss:F3} is not near zero (< {NearZeroLoss}), so this is not yet a hyperfitted model (this run: --lr {o.Lr:g3} ") +
            FormattableString.Invariant($"--samples {o.Samples} --epochs {o.Epochs}). The defaults are the paper's recipe for models of 1-70 B parameters; ") +
            "a small model needs a larger --lr, fewer --samples or more --epochs (the bundled 1.9 M-parameter model: --lr 1e-3 --samples 128 " +
            "--epochs 60 reaches 0.05). See docs/hyperfitting.md.";
    }

    /// <summary>The kept progress line of one epoch.</summary>
    public static string EpochLine(HyperfitEpoch e) =>
        $"epoch {e.Epoch,3}  train {(e.TrainLoss is double t ? t.ToString("F4") : "   -  ")}  held-out {e.HeldOutLoss:F4}  " +
        $"entropy {e.Entropy:F3}  top-1 {e.Top1:F3}  TTR {(e.Ttr is double r ? r.ToString("F1") : "-")}  [{ProgressLine.Format(TimeSpan.FromSeconds(e.Seconds))}]";
}
