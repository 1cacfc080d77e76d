using BenchmarkDotNet.Running;

namespace Hyper.Bench;

/// <summary>
/// Entry point: every benchmark class in this assembly, picked on the command line, e.g.
/// <c>dotnet run -c Release --project bench -- --filter '*Matmul*'</c>.
/// </summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen by <paramref name="args"/> (BenchmarkDotNet's switcher).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
