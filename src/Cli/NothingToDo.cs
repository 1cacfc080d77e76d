using System.Text.Json;

namespace Hyper.Cli;

/// <summary>The --json summary of a resumed run that had nothing left to do (its files are unchanged).</summary>
public static class NothingToDo
{
    /// <summary>{"nothing_to_do": true, "steps": N, "out": DIR}</summary>
    public static string Json(int steps, string outDir) => JsonSerializer.Serialize(new { nothing_to_do = true, steps, @out = outDir });
}
