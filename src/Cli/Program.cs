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
            "Trains, evaluates, generates from, converts and benchmarks causal language models (GPT-2, and the Llama family: Llama, Mistral, Qwen2, Qwen3) on the CPU (SIMD, every core) or a device backend (OpenCL, ILGPU, CUDA: see hyper info); HyperAttention, hyperfitting and hypernetworks.")
        {
            TrainCommand.Create(),
            HypernetCommand.Create(),
            EvalCommand.Create(),
            TokenizeCommand.Create(),
            GenerateCommand.Create(),
            EvalGenCommand.Create(),
            HyperfitCommand.Create(),
            MergeCommand.Create(),
            DemoCommand.Create(),
            ConvertCommand.Create(),
            BenchCommand.Create(),
            InfoCommand.Create(),
        };
        try
        {
            // Our own handler below prints user errors as one line; anything else is a bug and
            // keeps its stack trace.
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is CliException or Hyper.Runtime.Training.TrainingDivergedException or ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            // User errors (bad flags, missing or malformed files) and a diverged run: one line naming the problem.
            // Every rank of a distributed run meets the same error; rank 0 says it once.
            if (DistributedOptions.Speaks) Console.Error.WriteLine($"hyper: {Flags.Describe(e)}");
            return 2;
        }
    }
}
