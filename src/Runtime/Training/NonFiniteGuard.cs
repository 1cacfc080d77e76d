namespace Hyper.Runtime.Training;

/// <summary>What a training loop does when a step's loss or gradient norm is NaN or ±Inf.</summary>
public enum NonFinitePolicy
{
    /// <summary>Stop the run without applying the step; the folder keeps its last good checkpoint.</summary>
    Stop,
    /// <summary>Drop the step's update (parameters and AdamW moments untouched, as a loss scaler skips an overflowed step) and go on.</summary>
    Skip,
}

/// <summary>A training run stopped because it diverged; the message says where and what is kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// Checks every step before its update is applied: a NaN or infinite loss or gradient norm would
/// write NaN into every weight through AdamW, and the next save would carry it. The default stops
/// the run (llm.c and PyTorch's anomaly mode stop too); <see cref="NonFinitePolicy.Skip"/> drops
/// the update and counts the step, and stops anyway after <see cref="MaxSkipsInARow"/> skipped steps
/// in a row (a run that never recovers is not worth continuing).
/// </summary>
public sealed class NonFiniteGuard(NonFinitePolicy policy)
{
    /// <summary>Consecutive skipped steps after which a skipping run stops all the same.</summary>
    public const int MaxSkipsInARow = 10;

    private int _inARow;

    /// <summary>The policy.</summary>
    public NonFinitePolicy Policy => policy;

    /// <summary>Steps skipped so far in this process.</summary>
    public int Skipped { get; private set; }

    /// <summary>Parses the --on-nonfinite flag.</summary>
    public static NonFinitePolicy Parse(string value) => value switch
    {
        "stop" => NonFinitePolicy.Stop,
        "skip" => NonFinitePolicy.Skip,
        _ => throw new SettingException("OnNonFinite", $"must be stop or skip, not '{value}'"),
    };

    /// <summary>"loss NaN, gradient norm +Inf" for the values that are not finite; null when both are finite.</summary>
    public static string? Problem(double loss, double gradNorm)
    {
        var parts = new List<string>();
        if (!double.IsFinite(loss)) parts.Add($"loss {Name(loss)}");
        if (!double.IsFinite(gradNorm)) parts.Add($"gradient norm {Name(gradNorm)}");
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }

    /// <summary>
    /// True when step <paramref name="step"/> (1-based) may be applied; false when it is to be
    /// skipped. Throws <see cref="TrainingDivergedException"/> when the run must stop;
    /// <paramref name="kept"/> says what the output folder holds (e.g. "OUT keeps the checkpoint of step 40").
    /// </summary>
    public bool Admit(int step, double loss, double gradNorm, string kept)
    {
        string? problem = Problem(loss, gradNorm);
        if (problem is null)
        {
            _inARow = 0;
            return true;
        }
        if (policy == NonFinitePolicy.Skip && _inARow + 1 < MaxSkipsInARow)
        {
            _inARow++;
            Skipped++;
            return false;
        }
        string why = policy == NonFinitePolicy.Skip
            ? $"{MaxSkipsInARow} steps in a row were not finite (the last, step {step}: {problem})"
            : $"step {step} has {problem}";
        string hint = policy == NonFinitePolicy.Stop ? "lower the learning rate, or skip non-finite steps" : "lower the learning rate";
        throw new TrainingDivergedException($"training diverged: {why}; its update was not applied and {kept} ({hint})");
    }

    private static string Name(double x) => double.IsNaN(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
}
