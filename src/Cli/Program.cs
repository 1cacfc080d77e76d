using System.CommandLine;
using Hyper.Cli.Commands;

namespace Hyper.Cli;

/// <summary>Entry point of `hyper`: builds the command tree and runs it.</summary>
public static class Program
{
    /// <summary>Runs the command line; the exit code is 0 on success.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "Hyper: a transformer engine with hand-written kernels.\n" +
            "Trains, benchmarks and runs GPT-2-style models on the CPU (SIMD, both cores).")
        {
            BenchCommand.Create(),
            InfoCommand.Create(),
        };
        try
        {
            // Our own handler below prints user errors as one line; anything else is a bug and
            // keeps its stack trace.
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"hyper: {e.Message}");
            return 2;
        }
    }
}
