using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Hyper.Kernels.Reference;
using Hyper.Runtime.Benchmarks;

namespace Hyper.Cli.Commands;

/// <summary>`hyper bench attention`: exact flash attention against HyperAttention, time and error by length.</summary>
public static class BenchAttentionCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var defaults = new HyperAttentionConfig();
        var lengths = new Option<string>("--n") { Description = "Sequence lengths, comma-separated (e.g. 4096,32768).", DefaultValueFactory = _ => "4096,16384" };
        var heads = new Option<int>("--heads") { Description = "Heads (batch is 1).", DefaultValueFactory = _ => 1 };
        var dim = new Option<int>("--dim") { Description = "Head size.", DefaultValueFactory = _ => 64 };
        var causal = new Option<bool>("--causal") { Description = "Causal mask (HyperAttention's Algorithm 4 recursion)." };
        var backward = new Option<bool>("--backward") { Description = "Also time forward + backward and report the errors of dQ, dK, dV." };
        var data = new Option<string>("--data") { Description = "Inputs: random (standard normal), clustered (q, k around a few centres: peaked attention), or model:DIR (q, k, v of a trained model's last layer on --text, in windows of its context laid end to end).", DefaultValueFactory = _ => "random" };
        var text = new Option<string>("--text") { Description = "Text the model reads for --data model:DIR.", DefaultValueFactory = _ => "data/moby-dick.txt" };
        var clusters = new Option<int>("--clusters") { Description = "Cluster centres for --data clustered.", DefaultValueFactory = _ => 16 };
        var block = new Option<int>("--block") { Description = "HyperAttention block size b.", DefaultValueFactory = _ => defaults.BlockSize };
        var samples = new Option<int>("--samples") { Description = "Sampled keys m.", DefaultValueFactory = _ => defaults.SampleSize };
        var projs = new Option<int>("--lsh-projs") { Description = "LSH hyperplanes r (0..16).", DefaultValueFactory = _ => defaults.LshProjections };
        var minSeq = new Option<int>("--min-seq") { Description = "Exact attention below this many queries (min_seq_len).", DefaultValueFactory = _ => defaults.MinSeqLen };
        var order = new Option<string>("--order") { Description = "Bucket order: gray (true Gray-code position) or official (sort by g(bucket)).", DefaultValueFactory = _ => "gray" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the inputs and of the hyperplanes and samples.", DefaultValueFactory = _ => 1UL };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per kernel (minimum reported); a run over 5 s is not repeated.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "One JSON object per length per line instead of a table." };
        var cmd = new Command("attention",
            "Time exact flash attention against HyperAttention on the same inputs (batch 1), by length, and measure HyperAttention's error.\n" +
            "rel_error = ||O_hyper - O||_F / ||O||_F. spectral_error = max over heads of ||O_hyper - O||_2 / ||V||_2, an upper bound on the " +
            "paper's ||O_hyper - O||_2 / (||softmax(QK^T)||_2 ||V||_2) since a row-stochastic matrix has spectral norm >= 1.")
        {
            lengths, heads, dim, causal, backward, data, text, clusters, block, samples, projs, minSeq, order, seed, repeats, json,
        };
        cmd.SetAction(r =>
        {
            var options = new AttentionBenchmarkOptions
            {
                Lengths = ParseLengths(r.GetValue(lengths)!),
                Heads = Positive(r.GetValue(heads), "--heads"),
                HeadSize = Positive(r.GetValue(dim), "--dim"),
                Causal = r.GetValue(causal),
                Backward = r.GetValue(backward),
                Data = r.GetValue(data) switch
                {
                    "random" => AttentionData.Random,
                    "clustered" => AttentionData.Clustered,
                    { } m when m.StartsWith("model:", StringComparison.Ordinal) => AttentionData.Model,
                    var other => throw new CliException($"--data: unknown '{other}' (random, clustered, model:DIR)"),
                },
                ModelDir = r.GetValue(data)!.StartsWith("model:", StringComparison.Ordinal) ? ModelFolder(r.GetValue(data)![6..]) : null,
                ModelText = r.GetValue(text)!,
                Clusters = Positive(r.GetValue(clusters), "--clusters"),
                Hyper = new HyperAttentionConfig
                {
                    BlockSize = Positive(r.GetValue(block), "--block"),
                    SampleSize = r.GetValue(samples) >= 0 ? r.GetValue(samples) : throw new CliException("--samples must not be negative"),
                    LshProjections = r.GetValue(projs) is >= 0 and <= 16 and var p ? p : throw new CliException("--lsh-projs must be in 0..16"),
                    MinSeqLen = Positive(r.GetValue(minSeq), "--min-seq"),
                    Order = r.GetValue(order) switch
                    {
                        "gray" => HyperAttentionOrder.Gray,
                        "official" => HyperAttentionOrder.Official,
                        var other => throw new CliException($"--order: unknown '{other}' (gray, official)"),
                    },
                },
                Seed = r.GetValue(seed),
                Repeats = Positive(r.GetValue(repeats), "--repeats"),
            };
            if (options.ModelDir is { } md)
            {
                var mc = Runtime.IO.Checkpoint.ReadConfig(md);
                if (mc.Channels / mc.Heads != options.HeadSize) throw new CliException($"--dim {options.HeadSize}: the model in {md} has head size {mc.Channels / mc.Heads}");
                if (options.Heads > mc.Heads) throw new CliException($"--heads {options.Heads}: the model in {md} has {mc.Heads} heads");
            }
            bool asJson = r.GetValue(json);
            if (!asJson)
            {
                Console.WriteLine($"heads {options.Heads}, head size {options.HeadSize}, {(options.Causal ? "causal" : "non-causal")}, data {r.GetValue(data)}, " +
                    $"block {options.Hyper.BlockSize}, samples {options.Hyper.SampleSize}, r {options.Hyper.LshProjections}, min_seq {options.Hyper.MinSeqLen}, order {r.GetValue(order)}");
                Console.WriteLine(options.Backward
                    ? $"{"n",8} {"exact ms",10} {"hyper ms",10} {"speedup",8} {"rel err",9} {"spec err",9} {"exact f+b",10} {"hyper f+b",10} {"speedup",8} {"dQ err",9} {"dK err",9} {"dV err",9}"
                    : $"{"n",8} {"exact ms",10} {"hyper ms",10} {"speedup",8} {"rel err",9} {"spec err",9}");
            }
            foreach (AttentionBenchmarkResult x in AttentionBenchmark.Run(options, msg => Console.Error.WriteLine(msg)))
            {
                if (asJson) Console.WriteLine(Json(x));
                else if (options.Backward)
                    Console.WriteLine($"{x.N,8} {x.ExactMs,10:F1} {x.HyperMs,10:F1} {x.Speedup,8:F1} {x.RelError,9:E2} {x.SpectralError,9:E2} " +
                        $"{x.ExactForwardBackwardMs,10:F1} {x.HyperForwardBackwardMs,10:F1} {x.SpeedupForwardBackward,8:F1} {x.RelErrorDq,9:E2} {x.RelErrorDk,9:E2} {x.RelErrorDv,9:E2}");
                else
                    Console.WriteLine($"{x.N,8} {x.ExactMs,10:F1} {x.HyperMs,10:F1} {x.Speedup,8:F1} {x.RelError,9:E2} {x.SpectralError,9:E2}");
            }
            return 0;
        });
        return cmd;
    }

    private static string Json(AttentionBenchmarkResult x)
    {
        var o = new Dictionary<string, object>
        {
            ["n"] = x.N,
            ["causal"] = x.Causal,
            ["heads"] = x.Heads,
            ["dim"] = x.HeadSize,
            ["exact_ms"] = x.ExactMs,
            ["hyper_ms"] = x.HyperMs,
            ["speedup"] = x.Speedup,
            ["rel_error"] = x.RelError,
            ["spectral_error"] = x.SpectralError,
        };
        if (x.ExactForwardBackwardMs is double e && x.HyperForwardBackwardMs is double h)
        {
            o["exact_fwd_bwd_ms"] = e;
            o["hyper_fwd_bwd_ms"] = h;
            o["speedup_fwd_bwd"] = e / h;
            o["rel_error_dq"] = x.RelErrorDq!.Value;
            o["rel_error_dk"] = x.RelErrorDk!.Value;
            o["rel_error_dv"] = x.RelErrorDv!.Value;
        }
        return JsonSerializer.Serialize(o);
    }

    private static List<int> ParseLengths(string text)
    {
        var list = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                throw new CliException($"--n: '{part}' is not a positive integer");
            list.Add(n);
        }
        if (list.Count == 0) throw new CliException("--n: give at least one length");
        return list;
    }

    private static string ModelFolder(string dir) =>
        Runtime.IO.Checkpoint.IsCheckpoint(dir) ? dir : throw new CliException($"--data model:{dir}: not a checkpoint folder (no config.json)");

    private static int Positive(int value, string flag) => value >= 1 ? value : throw new CliException($"{flag} must be at least 1");
}
