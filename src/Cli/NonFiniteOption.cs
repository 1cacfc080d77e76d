using System.CommandLine;
using Hyper.Runtime.Training;

namespace Hyper.Cli;

/// <summary>--on-nonfinite stop|skip, shared by every command that trains.</summary>
public static class NonFiniteOption
{
    /// <summary>A fresh option (an option object belongs to one command).</summary>
    public static Option<string> Create() => new("--on-nonfinite")
    {
        Description = "A step whose loss or gradient norm is NaN or infinite: stop (the default: the update is not applied, the folder keeps its last " +
                      $"good checkpoint) or skip (drop that update and go on; stops after {NonFiniteGuard.MaxSkipsInARow} such steps in a row).",
        DefaultValueFactory = _ => "stop",
    };

    /// <summary>The policy the flag names; a clear error otherwise.</summary>
    public static NonFinitePolicy Read(ParseResult r, Option<string> option)
    {
        try { return NonFiniteGuard.Parse(r.GetValue(option)!); }
        catch (ArgumentException e) { throw new CliException(Flags.Describe(e)); }
    }
}
