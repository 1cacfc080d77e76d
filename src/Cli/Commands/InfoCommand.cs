using System.CommandLine;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;

namespace Hyper.Cli.Commands;

/// <summary>`hyper info`: the backends this machine has, and how each runs every op.</summary>
public static class InfoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Describe a model folder instead: architecture, dimensions, parameters, stored dtypes, memory, tokenizer." };
        var cmd = new Command("info", "List the backends found on this machine and, per op, whether each runs it natively or on the reference fallback; " +
            "with --model, describe a checkpoint folder (and with --weights, load it on the cpu backend in that format and measure its memory).") { model };
        var weights = new Option<string>("--weights")
        {
            Description = "With --model: load the folder on the cpu backend with this matmul weight format (f32, bf16, q8), decode one token, " +
                "and print the packed weights' bytes and the process's peak resident memory (bf16 on a Llama-family folder: its BF16 matmul " +
                "tensors become the bf16 copies as they are, and their fp32 parameters are never written).",
        };
        cmd.Options.Add(weights);
        cmd.SetAction(r =>
        {
            if (r.GetValue(model) is { } dir)
            {
                DescribeModel(dir);
                if (r.GetValue(weights) is { } name) MeasureModel(dir, LowPrecision.Parse(name));
                return 0;
            }
            if (r.GetValue(weights) is not null) throw new CliException("--weights needs --model (the folder to load)");
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
                    Console.WriteLine($"{"",-10} weight formats: {LowPrecision.Offered(be)}");
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

    private static void DescribeModel(string dir)
    {
        if (!Checkpoint.IsCheckpoint(dir)) throw new CliException($"{dir}: not a checkpoint folder (no config.json)");
        var c = Checkpoint.ReadConfig(dir);
        using var weights = WeightFiles.Open(dir);
        long parameters = weights.Tensors.Sum(t => t.Count), bytes = weights.Tensors.Sum(t => t.End - t.Begin);
        var dtypes = weights.Tensors.GroupBy(t => t.DType).Select(g => $"{g.Key} ({g.Count()} tensors)");
        Console.WriteLine($"folder:       {dir}");
        Console.WriteLine($"architecture: {c.ModelType} ({Architectures.Of(c).HuggingFaceClass})");
        string kv = c is LlamaConfig l ? $", {l.KvHeads} key/value heads, MLP {l.IntermediateSize}{(l.TieWordEmbeddings ? ", tied head" : ", untied head")}" : "";
        Console.WriteLine($"dimensions:   {c.Layers} layers, {c.Channels} channels, {c.Heads} heads of {c.HeadSize}{kv}; vocabulary {c.VocabSize:N0}; context {c.Context:N0}");
        Console.WriteLine($"parameters:   {parameters:N0} stored in {weights.Path} ({Size(bytes)}): {string.Join(", ", dtypes)}");
        // Hyper computes in fp32: 4 bytes a parameter to run, 16 to train (weights, gradients, AdamW's m and v), activations aside.
        Console.WriteLine($"memory:       {Size(parameters * 4)} to run (fp32 weights), {Size(parameters * 16)} to train (weights, gradients, AdamW moments), plus activations");
        // Matmul weights: the 2-D tensors except the position table and, when the head is its own tensor, the looked-up token table.
        bool untied = weights.Tensors.Any(t => t.Name.Contains("lm_head", StringComparison.Ordinal));
        long matmul = weights.Tensors.Where(t => t.Shape.Length == 2 && !t.Name.Contains("wpe", StringComparison.Ordinal)
            && !(untied && t.Name.Contains("embed_tokens", StringComparison.Ordinal))).Sum(t => t.Count);
        // q8 counted as 36 bytes per 32 weights (rows padded to whole blocks add a little more).
        // On the cpu a Llama-family folder's matmul tensors load straight into the copies (see Checkpoint.Load):
        // into q8 whatever their dtype, into bf16 when they are BF16.
        bool bf16Straight = weights.Tensors.Any(t => t.DType == "BF16" && t.Name.EndsWith("proj.weight", StringComparison.Ordinal));
        string kept = c is LlamaConfig
            ? $"on the cpu the matmul tensors go straight into the q8 copies{(bf16Straight ? " and, being BF16, into the bf16 ones" : "")}, without an fp32 copy; " +
              "otherwise the fp32 parameters stay loaded"
            : "the fp32 parameters stay loaded";
        Console.WriteLine($"{"",-14}--weights bf16 adds {Size(2 * matmul)}, q8 {Size(matmul / 32 * 36)}: packed copies of the {matmul:N0} matmul weights, " +
            $"read per decoded token instead of their {Size(4 * matmul)} of fp32 ({kept})");
        string tokenizer = ModelTokenizer.HasTokenizerJson(dir) ? "tokenizer.json" : Checkpoint.ReadState(dir, c).Tokenizer!;
        Console.WriteLine($"tokenizer:    {tokenizer}");
    }

    // Loads on the cpu backend and decodes one token, so the packed copies exist when the memory is read.
    private static void MeasureModel(string dir, Hyper.Kernels.WeightFormat format)
    {
        using var backend = new CpuBackend();
        LowPrecision.Use(backend, format);
        var (model, _) = Checkpoint.Load(dir, backend);
        using (model)
        {
            long? loaded = Hyper.Runtime.ProcessMemory.PeakResidentBytes();
            using (var decoder = model.CreateDecoder(1, 1))
                decoder.Feed([0], 1, new float[model.Config.VocabSize]);
            long? peak = Hyper.Runtime.ProcessMemory.PeakResidentBytes();
            string Rss(long? b) => b is long v ? Size(v) : "not reported here";
            long direct = backend.PackedOnlyFloats;
            Console.WriteLine($"loaded:       --weights {LowPrecision.Name(format)} on cpu: {Size(4L * model.Layout.Total)} of fp32 parameters" +
                (direct > 0 ? $" ({Size(4 * direct)} of them never written)" : "") +
                (format == Hyper.Kernels.WeightFormat.F32 ? "" : $" + {Size(backend.PackedBytes)} packed ({backend.PackedFloats:N0} matmul weights)") +
                $"; peak resident {Rss(loaded)} after loading, {Rss(peak)} after decoding one token");
            if (direct > 0)
                Console.WriteLine($"{"",-14}{LowPrecision.Name(format)} copies of {direct:N0} matmul weights made from the checkpoint as it loaded; fp32 matmul weights not kept");
        }
    }

    private static string Size(long bytes) => bytes >= 1L << 30 ? $"{bytes / 1073741824.0:N2} GiB" : $"{bytes / 1048576.0:N1} MiB";

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
