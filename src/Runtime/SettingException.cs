namespace Hyper.Runtime;

/// <summary>
/// A run setting that cannot work, named in PascalCase after the options property it comes from
/// (<c>Seq</c>, <c>OutDir</c>, <c>TrainLastBlocks</c> of <see cref="Training.TrainOptions"/>,
/// <see cref="Hyperfitting.HyperfitOptions"/> and the others; <c>Data</c> for a corpus path) rather
/// than by how a front end spells it: the command line shows its own flag before
/// <see cref="Problem"/>, a library caller reads <see cref="Exception.Message"/>.
/// </summary>
/// <param name="setting">The setting refused.</param>
/// <param name="problem">What is wrong with it.</param>
/// <param name="remedy">Another setting that fixes it, with what setting it does ("Resume", "to continue it"): the CLI says "pass --resume to continue it".</param>
public sealed class SettingException(string setting, string problem, (string Setting, string Does)? remedy = null)
    : ArgumentException($"{setting}: {problem}" + (remedy is var (s, does) ? $"; set {s} {does}" : ""))
{
    /// <summary>Another setting that fixes the problem, and what setting it does, or null.</summary>
    public (string Setting, string Does)? Remedy { get; } = remedy;

    /// <summary>The options property (e.g. "Seq").</summary>
    public string Setting { get; } = setting;

    /// <summary>What is wrong with it, starting with its value where that helps ("300 exceeds the model's context of 256 tokens").</summary>
    public string Problem { get; } = problem;

    /// <summary>Runs a path check (<see cref="IO.InputFile"/>, <see cref="IO.OutputPath"/>) and reports what it refuses as this setting's problem.</summary>
    public static void Check(string setting, Action check)
    {
        try { check(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new SettingException(setting, e.Message); }
    }
}
