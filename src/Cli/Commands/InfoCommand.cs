using System.CommandLine;
using Hyper.Runtime.Backends;

namespace Hyper.Cli.Commands;

/// <summary>`hyper info`: the backends this machine has and what they support.</summary>
public static class InfoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var cmd = new Command("info", "List the backends found on this machine and the ops each supports.");
        cmd.SetAction(_ =>
        {
            Console.WriteLine($"runtime: .NET {Environment.Version}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
            foreach (var entry in BackendRegistry.All)
            {
                if (!BackendRegistry.TryCreate(entry.Name, out var be, out var reason))
                {
                    Console.WriteLine($"{entry.Name,-10} not available: {reason}");
                    continue;
                }
                using (be)
                {
                    var ops = Enum.GetValues<Op>().Select(op => be!.Supports(op) ? op.ToString() : $"{op}(not supported)");
                    Console.WriteLine($"{be!.Name,-10} {be.Description}");
                    Console.WriteLine($"{"",-10} ops: {string.Join(", ", ops)}");
                    if (be is IKernelVariants lab)
                        foreach (var op in Enum.GetValues<Op>())
                            if (lab.VariantsOf(op).Count > 1)
                                Console.WriteLine($"{"",-10} {op} variants: {string.Join(", ", lab.VariantsOf(op))} (using {lab.VariantOf(op)})");
                }
            }
            return 0;
        });
        return cmd;
    }
}
