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
            foreach (var name in BackendRegistry.Names)
            {
                using var be = BackendRegistry.Create(name);
                var ops = Enum.GetValues<Op>().Select(op => be.Supports(op) ? op.ToString() : $"{op}(not supported)");
                Console.WriteLine($"{be.Name,-10} {be.Description}");
                Console.WriteLine($"{"",-10} ops: {string.Join(", ", ops)}");
            }
            return 0;
        });
        return cmd;
    }
}
