using System.Text.Json;

namespace Hyper.Cli;

/// <summary>The --json summary of a resumed run that had nothing left to do (its files are unchanged).</summary>
public static class NothingToDo
{
    /// <summary>Says so on stderr (and as JSON on stdout with --json) for a run at step <paramref name="steps"/> of <paramref name="wanted"/>.</summary>
    public static int Report(int steps, int wanted, string outDir, bool json)
    {
        Console.Error.WriteLine($"nothing to do: {outDir} is already at step {steps} (--steps {wanted}); raise --steps to train further");
        if (json) Console.WriteLine(Json(steps, outDir));
        return 0;
    }

    /// <summary>{"nothing_to_do": true, "steps": N, "out": DIR}</summary>
    public static string Json(int steps, string outDir) => JsonSerializer.Serialize(new { nothing_to_do = true, steps, @out = outDir });
}
