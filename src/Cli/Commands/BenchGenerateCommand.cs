using System.CommandLine;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Benchmarks;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;

namespace Hyper.Cli.Commands;

/// <summary>`hyper bench generate`: greedy decoding with the KV cache, prefill and per-token times.</summary>
public static class BenchGenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = $"Model preset with random weights ({string.Join(", ", Architectures.PresetNames)}) or a checkpoint folder.",
            DefaultValueFactory = _ => "small",
        };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Random prompt tokens per row (P), run as one prefill.", DefaultValueFactory = _ => 32 };
        var newTokens = new Option<int>("--new-tokens") { Description = "Decode steps (N): one new token per row each.", DefaultValueFactory = _ => 256 };
        var batch = new Option<string>("--batch")
        {
            Description = "Rows decoded together (B); a comma list (1,4,16) runs each in turn in this process and ends with a table " +
                "(with --json an array of the objects one B prints). --weights takes a comma list too (f32,bf16,q8): every format at every B.",
            DefaultValueFactory = _ => "1",
        };
        var warmup = new Option<int>("--warmup") { Description = "Untimed generations first: at least this many and, when above 0, more until the JIT has compiled nothing for 0.3 s (at most 5 s; the JSON says how many ran).", DefaultValueFactory = _ => 1 };
        var repeat = new Option<int>("--repeat") { Description = "Timed generations.", DefaultValueFactory = _ => 3 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights and prompt.", DefaultValueFactory = _ => 1337UL };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (default: every core)." };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a summary: one object, or an array of them when --batch or --weights lists several." };
        var profile = new Option<bool>("--profile") { Description = "Also time every op of the decode steps and print where a step's time goes (the step times then include that bookkeeping)." };
        var cmd = new Command("generate",
            "Time greedy decoding with the KV cache: a prefill of P random prompt tokens, then N decode steps that each feed the " +
            "last picked token of every row and pick the next by argmax. tokens_per_s = N*B / decode seconds (all timed " +
            "generations), ms_per_token = the median decode step, prefill_ms = the median prefill. On the cpu backend the " +
            "memory roof is measured too: read_gb_per_s = the median of plain summing reads of the parameter arena, one after " +
            $"every {GenerateBenchmark.ReadEvery} timed steps (shared machines change their bandwidth within a run, so the roof " +
            "is sampled while the steps run), roofline_tokens_per_s = B * read_gb_per_s / weight_bytes_per_step, roofline_fraction = " +
            "the roof's step time / the median step; read_peak_gb_per_s and roofline_peak_fraction hold the same against the best of " +
            "back-to-back reads before and after the timed generations (the strict bound); not measured where a Llama-family checkpoint's " +
            "BF16 matmul tensors were loaded as they are (--weights bf16 alone), whose fp32 arena is never written. peak_rss_bytes = the process's peak resident " +
            "memory after that run (VmHWM). A preset whose n_positions " +
            "is below P+N gets n_positions = P+N (its weights are random anyway); a checkpoint must hold P+N positions. " +
            "bench/compare/bench_generate.py measures PyTorch the same way.")
        {
            model, prompt, newTokens, batch, warmup, repeat, seed, threads, device, json, profile,
        };
        var weights = new WeightsOption();
        weights.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var formats = weights.ReadList(r);
            int P = r.GetValue(prompt), N = r.GetValue(newTokens), W = r.GetValue(warmup), R = r.GetValue(repeat);
            var batches = Batches(r.GetValue(batch)!);
            if (P < 1) throw new CliException("--prompt-tokens must be at least 1");
            if (N < 1) throw new CliException("--new-tokens must be at least 1");
            if (W < 0) throw new CliException("--warmup must not be negative");
            if (R < 1) throw new CliException("--repeat must be at least 1");
            if (r.GetValue(threads) < 0) throw new CliException("--threads must not be negative");
            if (r.GetValue(threads) > 0) Hyper.Kernels.Cpu.CpuParallel.Threads = r.GetValue(threads);
            IBackend backend;
            try { backend = BackendRegistry.Create(r.GetValue(device)!); }
            catch (ArgumentException e) { throw new CliException($"--device: {e.Message}"); }
            using var _ = backend;
            foreach (var f in formats) LowPrecision.Use(backend, f); // refuses a format the backend lacks before anything loads
            // One format loads in it (bf16: a checkpoint's BF16 matmul tensors as they are); several need the fp32 weights to switch between.
            LowPrecision.Use(backend, formats.Distinct().Count() == 1 ? formats[0] : Hyper.Kernels.WeightFormat.F32);
            var profiler = r.GetValue(profile) ? new ProfilingBackend(backend) : null;
            if (profiler is not null) backend = profiler;
            string name = r.GetValue(model)!;
            using var m = Load(name, backend, P + N, r.GetValue(seed));
            if ((long)P + N > m.Config.Context)
                throw new CliException($"--prompt-tokens {P} + --new-tokens {N} exceed the context of {name} ({m.Config.Context} tokens)");
            bool asJson = r.GetValue(json);
            var objects = new List<object>();
            var results = new List<(GenerateBenchmarkResult Result, Hyper.Kernels.WeightFormat Format)>();
            bool several = batches.Count * formats.Count > 1;
            foreach (int B in batches)
            foreach (var format in formats)
            {
                // Each format's packed copies are made afresh (the switch drops the last one's) inside the warm-up.
                LowPrecision.Use(backend is ProfilingBackend pb ? pb.Inner : backend, format);
                var result = GenerateBenchmark.Run(m, B, P, N, W, R, r.GetValue(seed), msg =>
                {
                    if (!asJson) Console.Error.Write($"\r{(several ? $"B={B} {LowPrecision.Name(format)}: " : "")}{msg}   ");
                }, profiler);
                if (!asJson) Console.Error.WriteLine();
                // Read after each run, so with several batch sizes each says what the process had needed by then.
                long? peak = Hyper.Runtime.ProcessMemory.PeakResidentBytes();
                results.Add((result, format));
                if (asJson) objects.Add(Json(result, name, format, W, R, peak));
                else Print(result, name, format, R, peak);
            }
            if (asJson) Console.WriteLine(objects.Count == 1 ? JsonSerializer.Serialize(objects[0]) : JsonSerializer.Serialize(objects));
            else if (several) PrintTable(results);
            return 0;
        });
        return cmd;
    }

    /// <summary>The batch sizes of --batch: one number or a comma list, each at least 1.</summary>
    internal static IReadOnlyList<int> Batches(string text)
    {
        var sizes = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int b))
                throw new CliException($"--batch '{text}' is not a number or a comma list of numbers (1,4,16)");
            if (b < 1) throw new CliException("--batch must be at least 1");
            sizes.Add(b);
        }
        return sizes;
    }

    private static object Json(GenerateBenchmarkResult result, string name, Hyper.Kernels.WeightFormat format, int W, int R, long? peak)
    {
        var c = result.Config;
        int B = result.Batch;
        return new
        {
            impl = "hyper",
            backend = result.Backend,
            model = name,
            weights = LowPrecision.Name(format),
            batch = B,
            prompt_tokens = result.PromptTokens,
            new_tokens = result.NewTokens,
            warmup = result.Warmup,
            repeat = R,
            threads = Hyper.Kernels.Cpu.CpuParallel.Threads,
            n_params = result.Parameters,
            tokens_per_s = Math.Round(result.TokensPerS, 1),
            ms_per_token = Math.Round(result.MsPerToken, 4),
            ms_min = Math.Round(result.MsMin, 4),
            prefill_ms = Math.Round(result.PrefillMs, 3),
            weight_bytes_per_step = result.WeightBytesPerStep,
            read_gb_per_s = result.ReadBytesPerS is double bw ? Math.Round(bw / 1e9, 2) : (double?)null,
            roofline_tokens_per_s = result.RooflineStepsPerS is double roof ? Math.Round(roof * B, 1) : (double?)null,
            roofline_fraction = result.RooflineFraction is double f ? Math.Round(f, 3) : (double?)null,
            read_peak_gb_per_s = result.ReadPeakBytesPerS is double pk ? Math.Round(pk / 1e9, 2) : (double?)null,
            roofline_peak_fraction = result.RooflinePeakFraction is double pf ? Math.Round(pf, 3) : (double?)null,
            peak_rss_bytes = peak,
            profile = result.Profile?.Select(o => new { op = o.Op, ms_per_step = Math.Round(o.MsPerStep, 4), calls_per_step = Math.Round(o.CallsPerStep, 2) }),
            config = new { n_layer = c.Layers, n_head = c.Heads, n_embd = c.Channels, n_positions = c.Context, vocab_size = c.VocabSize },
        };
    }

    private static void Print(GenerateBenchmarkResult result, string name, Hyper.Kernels.WeightFormat format, int R, long? peak)
    {
        int B = result.Batch;
        Console.WriteLine($"model {name} ({result.Parameters:N0} parameters), backend {result.Backend}, weights {LowPrecision.Name(format)}, " +
            $"B={B}, prompt {result.PromptTokens}, new {result.NewTokens}");
        Console.WriteLine($"  prefill       {result.PrefillMs,10:F2} ms   (median of {R})");
        Console.WriteLine($"  decode step   {result.MsPerToken,10:F3} ms   (median, min {result.MsMin:F3} ms over {R * result.NewTokens} steps)");
        Console.WriteLine($"  throughput    {result.TokensPerS,10:F1} tokens/s");
        if (result.RooflineFraction is double frac)
            Console.WriteLine($"  memory roof   {result.RooflineStepsPerS!.Value * B,10:F1} tokens/s   ({result.WeightBytesPerStep / 1e6:F1} MB of weights per step " +
                $"at {result.ReadBytesPerS!.Value / 1e9:F1} GB/s, the median plain read of the parameters between steps; " +
                $"median step at {frac:P1} of it, {result.RooflinePeakFraction!.Value:P1} of the {result.ReadPeakBytesPerS!.Value / 1e9:F1} GB/s peak read)");
        if (peak is long p) Console.WriteLine($"  peak memory   {p / 1048576.0,10:F1} MiB resident (the process so far)");
        if (result.Profile is { } ops)
        {
            Console.WriteLine("  per decode step, by op:");
            double total = ops.Sum(o => o.MsPerStep);
            foreach (var (op, ms, calls) in ops)
                Console.WriteLine($"    {op,-34} {ms,9:F3} ms {100 * ms / total,6:F1}%  {calls,6:F1} calls");
        }
    }

    // One row per batch size and format, after the runs' own summaries; each format's tokens/s also as a ratio of
    // the f32 run at the same B when there is one (same process, run just before or after).
    private static void PrintTable(List<(GenerateBenchmarkResult Result, Hyper.Kernels.WeightFormat Format)> results)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine("| B | weights | tokens/s | ms/token | roofline fraction | vs f32 |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (r, format) in results)
        {
            var f32 = results.FirstOrDefault(x => x.Result.Batch == r.Batch && x.Format == Hyper.Kernels.WeightFormat.F32).Result;
            Console.WriteLine($"| {r.Batch} | {LowPrecision.Name(format)} | {r.TokensPerS.ToString("F1", inv)} | {r.MsPerToken.ToString("F3", inv)} | " +
                $"{(r.RooflineFraction is double f ? f.ToString("F3", inv) : "-")} | {(f32 is null ? "-" : (r.TokensPerS / f32.TokensPerS).ToString("F2", inv))} |");
        }
    }

    /// <summary>A preset with seeded random weights (n_positions raised to <paramref name="positions"/> when short), or a checkpoint folder.</summary>
    private static ICausalLm Load(string name, IBackend backend, int positions, ulong seed)
    {
        if (Architectures.Preset(name) is { } preset)
        {
            // GPT-2's presets are short (small has 256 positions); the Llama presets' rotary tables cover thousands.
            if (preset is Gpt2Config g) preset = g with { NPositions = Math.Max(g.NPositions, positions) };
            var model = Architectures.Of(preset).Create(preset, backend);
            model.InitializeWeights(seed);
            return model;
        }
        if (!Checkpoint.IsCheckpoint(name))
            throw new CliException($"--model: '{name}' is neither a preset ({string.Join(", ", Architectures.PresetNames)}) nor a checkpoint folder (no config.json)");
        return Checkpoint.Load(name, backend).Model;
    }
}
