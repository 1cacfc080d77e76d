using System.CommandLine;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;
using Hyper.Runtime.Training;

namespace Hyper.Cli.Commands;

/// <summary>`hyper bench ...`: throughput measurements.</summary>
public static class BenchCommand
{
    /// <summary>Builds the command group.</summary>
    public static Command Create()
    {
        var bench = new Command("bench", "Measure throughput (median of timed runs after a warm-up).");
        bench.Subcommands.Add(CreateTrain());
        bench.Subcommands.Add(BenchAttentionCommand.Create());
        bench.Subcommands.Add(BenchGenerateCommand.Create());
        bench.Subcommands.Add(BenchKernelsCommand.Create());
        return bench;
    }

    private static Command CreateTrain()
    {
        var model = new Option<string>("--model") { Description = $"Model preset: {string.Join(", ", Architectures.PresetNames)}.", DefaultValueFactory = _ => "small" };
        var batch = new Option<int>("--batch") { Description = "Sequences per step (B).", DefaultValueFactory = _ => 8 };
        var seq = new Option<int?>("--seq") { Description = "Tokens per sequence (T); at most the preset's n_positions (default 256, or n_positions when smaller)." };
        var steps = new Option<int>("--steps") { Description = "Timed steps.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first (JIT tiering and caches settle).", DefaultValueFactory = _ => 3 };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var profile = new Option<bool>("--profile") { Description = "Also time every op and print where a step's time goes." };
        var cmd = new Command("train",
            "Time training steps of a preset (forward, backward, gradient clipping, AdamW) on random tokens.\n" +
            "gflops_per_s counts model FLOPs per token as 6*P_mm + 12*L*T*C (PaLM appendix B; P_mm = the weights of " +
            "every matmul, the tied output projection included; attention not halved for the causal mask).")
        {
            model, batch, seq, steps, warmup, device, json, profile,
        };
        cmd.SetAction(r =>
        {
            string name = r.GetValue(model)!;
            var config = Architectures.Preset(name) ?? throw new CliException($"--model: unknown preset '{name}' (known: {string.Join(", ", Architectures.PresetNames)})");
            // A fixed default of 256 made `--model tiny` (64 positions) fail unless --seq was given.
            int B = r.GetValue(batch), T = r.GetValue(seq) ?? Math.Min(256, config.Context), n = r.GetValue(steps), w = r.GetValue(warmup);
            if (B < 1) throw new CliException("--batch must be at least 1");
            if (T < 1 || T > config.Context) throw new CliException($"--seq must be in 1..{config.Context} for '{name}'");
            if (n < 1) throw new CliException("--steps must be at least 1");
            if (w < 0) throw new CliException("--warmup must not be negative");
            IBackend backend;
            try { backend = BackendRegistry.Create(r.GetValue(device)!); }
            catch (ArgumentException e) { throw new CliException($"--device: {e.Message}"); }
            using var _ = backend;
            bool asJson = r.GetValue(json);
            var result = TrainBenchmark.Run(name, config, backend, B, T, n, w, (s, total, ms) =>
            {
                if (!Console.IsErrorRedirected || !asJson)
                    Console.Error.Write($"\rstep {s}/{total}  {ms:F1} ms{(s <= w ? " (warm-up)" : "")}   ");
            }, r.GetValue(profile));
            Console.Error.WriteLine();
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    impl = "hyper",
                    backend = result.Backend,
                    model = result.Model,
                    batch = result.Batch,
                    seq = result.Seq,
                    steps = result.Steps,
                    warmup = result.Warmup,
                    threads = Hyper.Kernels.Cpu.CpuParallel.Threads,
                    n_params = result.Parameters,
                    ms_per_step = Math.Round(result.MsPerStep, 3),
                    ms_min = Math.Round(result.MsMin, 3),
                    tokens_per_s = Math.Round(result.TokensPerS, 1),
                    flops_per_step = result.FlopsPerStep,
                    gflops_per_s = Math.Round(result.GflopsPerS, 2),
                    final_loss = result.FinalLoss,
                    profile = result.Profile?.Select(o => new { op = o.Op, ms_per_step = Math.Round(o.MsPerStep, 3), calls_per_step = o.CallsPerStep }),
                    config = new { n_layer = config.Layers, n_head = config.Heads, n_embd = config.Channels, n_positions = config.Context, vocab_size = config.VocabSize },
                }));
            }
            else
            {
                Console.WriteLine($"model {result.Model} ({result.Parameters:N0} parameters), backend {result.Backend}, B={B}, T={T}");
                Console.WriteLine($"  median step   {result.MsPerStep,10:F1} ms   (min {result.MsMin:F1} ms over {n} steps)");
                Console.WriteLine($"  throughput    {result.TokensPerS,10:F0} tokens/s");
                Console.WriteLine($"  model FLOPs   {result.GflopsPerS,10:F1} GFLOP/s");
                if (result.Profile is { } ops)
                {
                    Console.WriteLine("  per step, by op:");
                    double total = ops.Sum(o => o.MsPerStep);
                    foreach (var (op, ms, calls) in ops)
                        Console.WriteLine($"    {op,-28} {ms,9:F2} ms {100 * ms / total,6:F1}%  {calls,4} calls");
                }
            }
            return 0;
        });
        return cmd;
    }
}
