using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Benchmarks;

namespace Hyper.Cli.Commands;

/// <summary>`hyper bench kernels`: the kernel lab, every variant of one op checked against the reference, then timed.</summary>
public static class BenchKernelsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        string ops = string.Join(", ", KernelLab.Ops.Select(o => $"{o.Name} ({o.Dims}, default {o.Default})"));
        var op = new Option<string>("--op") { Description = $"Op: {ops}.", DefaultValueFactory = _ => "matmul" };
        var variant = new Option<string>("--variant") { Description = "Variant name, or all (those `hyper info` lists for the backend).", DefaultValueFactory = _ => "all" };
        var backend = new Option<string>("--backend") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var sizes = new Option<string?>("--sizes") { Description = "Shapes, comma-separated, dimensions joined by x (e.g. 4096x4096x4096 for matmul)." };
        var repeats = new Option<int>("--repeats") { Description = "Timed calls per variant (median reported).", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed calls first: at least this many and, when above 0, until the JIT has compiled nothing for 0.3 s (at most 5 s): it recompiles hot code in the background after its first calls.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "One JSON object per variant and shape instead of a table." };
        var cold = new Option<bool>("--cold")
        {
            Description = $"Cycle through copies of each case's arrays ({KernelLab.ColdBytes >> 20} MiB in all, 2 to {KernelLab.MaxCopies} copies), so every call reads them " +
                "from memory rather than cache: the GB/s of a memory-bound kernel (batch-1 decoding's matmuls) as decoding sees it.",
        };
        var cmd = new Command("kernels",
            "The kernel lab: run every variant of an op on seeded inputs, check it against the reference backend " +
            $"(relative error <= {KernelLab.Tolerance:E0}, {KernelLab.Tf32Tolerance:E0} for the TF32 tensor-core variants, whose inputs keep a 10-bit mantissa; " +
            $"a matmul is checked on its first {KernelLab.MatmulCheckRows} rows), then time it. " +
            "A variant that fails the check is reported FAILED and not timed (exit code 1). A device fault (a failed launch or synchronise, " +
            "after which a CUDA context is unusable) fails its variant with the device's message, and every variant and shape after it is " +
            "reported SKIPPED (context poisoned after <variant>), not run (exit code 1); run one variant per process to time the rest. " +
            "A variant left out of the native build is reported SKIPPED (not built) and does not fail the run. " +
            "GFLOP/s counts 2*N*C*OC for matmul and 2*B*T^2*C for causal attention; other ops report time only.")
        {
            op, variant, backend, sizes, repeats, warmup, json, cold,
        };
        cmd.SetAction(r =>
        {
            string opName = r.GetValue(op)!;
            var spec = KernelLab.Ops.FirstOrDefault(o => o.Name == opName);
            if (spec.Name is null) throw new CliException($"--op: unknown '{opName}' (known: {string.Join(", ", KernelLab.Ops.Select(o => o.Name))})");
            var shapes = ParseShapes(r.GetValue(sizes) ?? spec.Default, spec.Dims, opName);
            int n = r.GetValue(repeats), w = r.GetValue(warmup);
            if (n < 1) throw new CliException("--repeats must be at least 1");
            if (w < 0) throw new CliException("--warmup must not be negative");
            IBackend be;
            try { be = BackendRegistry.Create(r.GetValue(backend)!); }
            catch (ArgumentException e) { throw new CliException($"--backend: {e.Message}"); }
            using var _ = be;
            var variants = KernelLab.VariantsToRun(be, spec.Op, r.GetValue(variant)!);
            bool asJson = r.GetValue(json);
            var results = new List<KernelLabResult>();
            bool coldRun = r.GetValue(cold);
            foreach (var x in KernelLab.Run(be, opName, shapes, variants, n, w, coldRun))
            {
                results.Add(x);
                if (asJson) Console.WriteLine(Json(x, coldRun));
                else if (!Console.IsErrorRedirected) Console.Error.Write($"\r{x.Variant} {x.Shape} done   ");
            }
            if (!asJson)
            {
                PrintTable(be, results);
                if (coldRun) Console.WriteLine($"cold: each call read one of up to {KernelLab.MaxCopies} copies of its arrays ({KernelLab.ColdBytes >> 20} MiB in all), from memory");
            }
            return KernelLab.AllPassed(results) ? 0 : 1;
        });
        return cmd;
    }

    private static void PrintTable(IBackend be, List<KernelLabResult> results)
    {
        if (!Console.IsErrorRedirected) Console.Error.WriteLine();
        Console.WriteLine($"backend {be.Name}: {be.Description}");
        Console.WriteLine($"{"variant",-18} {"shape",-28} {"median ms",10} {"GFLOP/s",9} {"GB/s",7} {"rel error",10} {"vs best",8}");
        foreach (var shape in results.GroupBy(x => x.Shape))
        {
            double best = shape.Where(x => x.Ms is not null).Select(x => x.Ms!.Value).DefaultIfEmpty(double.NaN).Min();
            foreach (var x in shape)
            {
                if (x.Skipped)
                {
                    Console.WriteLine($"{x.Variant,-18} {x.Shape,-28} SKIPPED: {x.Error}");
                    continue;
                }
                if (!x.Ok)
                {
                    Console.WriteLine($"{x.Variant,-18} {x.Shape,-28} FAILED: {x.Error}");
                    continue;
                }
                string gflops = x.Gflops is double g ? g.ToString("F1", CultureInfo.InvariantCulture) : "-";
                string gbps = x.GBps is double b ? b.ToString("F1", CultureInfo.InvariantCulture) : "-";
                Console.WriteLine($"{x.Variant,-18} {x.Shape,-28} {x.Ms,10:F3} {gflops,9} {gbps,7} {x.RelError,10:E2} {best / x.Ms,8:F2}");
            }
        }
    }

    private static string Json(KernelLabResult x, bool cold) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["op"] = x.Op,
        ["cold"] = cold,
        ["backend"] = x.Backend,
        ["variant"] = x.Variant,
        ["shape"] = x.Shape,
        ["ms"] = x.Ms,
        ["gflops"] = x.Gflops,
        ["gb_per_s"] = x.GBps,
        ["rel_error"] = double.IsNaN(x.RelError) ? null : x.RelError,
        ["ok"] = x.Ok,
        ["error"] = x.Error,
        ["skipped"] = x.Skipped,
    });

    private static List<int[]> ParseShapes(string text, string dims, string op)
    {
        int count = dims.Split(' ')[0].Split('x').Length;
        var shapes = new List<int[]>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var values = part.Split('x');
            if (values.Length != count || values.Any(v => !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int d) || d < 1))
                throw new CliException($"--sizes: '{part}' is not {dims.Split(' ')[0]} for {op} ({count} positive integers joined by x)");
            int[] shape = values.Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (op == "attention" && shape[2] % shape[3] != 0)
                throw new CliException($"--sizes: attention C={shape[2]} is not divisible by NH={shape[3]}");
            shapes.Add(shape);
        }
        if (shapes.Count == 0) throw new CliException("--sizes: give at least one shape");
        return shapes;
    }
}
