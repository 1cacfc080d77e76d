using System.CommandLine;
using Hyper.Runtime.Backends;

namespace Hyper.Cli.Commands;

/// <summary>`hyper info`: the backends this machine has, and how each runs every op.</summary>
public static class InfoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("info", "List the backends found on this machine and, per op, whether each runs it natively or on the reference fallback.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine($"runtime: .NET {Environment.Version}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
            var available = new List<(string Name, Dictionary<Op, OpSupport> Ops)>();
            foreach (var entry in BackendRegistry.All)
            {
                if (!BackendRegistry.TryCreate(entry.Name, out var be, out var reason))
                {
                    Console.WriteLine($"{entry.Name,-10} not available: {reason}");
                    continue;
                }
                using (be)
                {
                    Console.WriteLine($"{be!.Name,-10} {be.Description}");
                    if (be is IKernelVariants lab)
                        foreach (var op in Enum.GetValues<Op>())
                            if (lab.VariantsOf(op).Count > 1)
                                Console.WriteLine($"{"",-10} {op} variants: {string.Join(", ", lab.VariantsOf(op))} (using {lab.VariantOf(op)})");
                    available.Add((be.Name, Enum.GetValues<Op>().ToDictionary(op => op, be.SupportOf)));
                }
            }
            PrintOps(available);
            return 0;
        });
        return cmd;
    }

    // One row per op, one column per available backend: native (its own kernel), reference (the
    // reference kernel on a host copy: correct, slow) or - (it does not run the op).
    private static void PrintOps(List<(string Name, Dictionary<Op, OpSupport> Ops)> backends)
    {
        if (backends.Count == 0) return;
        int width = Enum.GetValues<Op>().Max(op => op.ToString().Length) + 2;
        Console.WriteLine();
        Console.WriteLine("op".PadRight(width) + string.Concat(backends.Select(b => b.Name.PadRight(11))).TrimEnd());
        foreach (var op in Enum.GetValues<Op>())
            Console.WriteLine(op.ToString().PadRight(width) + string.Concat(backends.Select(b => Cell(b.Ops[op]).PadRight(11))).TrimEnd());
        Console.WriteLine("native: the backend's own kernel; reference: the reference kernel on a host copy (correct, slow); -: not run there");
    }

    private static string Cell(OpSupport support) => support switch
    {
        OpSupport.Native => "native",
        OpSupport.Reference => "reference",
        _ => "-",
    };
}
