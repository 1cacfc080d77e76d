using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Benchmarks;
using Hyper.Runtime.Models;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper bench generate` end to end, in process, on the tiny preset; and the benchmark's greedy tokens against a full recompute.</summary>
[NonParallelizable]
public class BenchGenerateCommandTests
{
    /// <summary>`hyper bench generate --model tiny ARGS --json`: exit 0 and one line of JSON on stdout, parsed.</summary>
    private static JsonDocument Json(string what, params string[] args)
    {
        var (code, output, err) = CliRunner.Run(["bench", "generate", "--model", "tiny", .. args, "--json"]);
        Assert.That(code, Is.EqualTo(0), err);
        string[] lines = output.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(1), $"{what} and nothing else on stdout");
        return JsonDocument.Parse(lines[0]);
    }

    [Test]
    public void JsonHasTheKeysAndSaneValues()
    {
        using var doc = Json("one JSON object", "--prompt-tokens", "5", "--new-tokens", "7", "--batch", "2", "--warmup", "1", "--repeat", "2");
        var root = doc.RootElement;
        Assert.That(root.GetProperty("impl").GetString(), Is.EqualTo("hyper"));
        Assert.That(root.GetProperty("backend").GetString(), Is.EqualTo("cpu"));
        Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("tiny"));
        Assert.That(root.GetProperty("batch").GetInt32(), Is.EqualTo(2));
        Assert.That(root.GetProperty("prompt_tokens").GetInt32(), Is.EqualTo(5));
        Assert.That(root.GetProperty("new_tokens").GetInt32(), Is.EqualTo(7));
        Assert.That(root.GetProperty("repeat").GetInt32(), Is.EqualTo(2));
        // At least the warm-up asked for; more while the JIT was still compiling (in the test host, other tests keep it busy).
        Assert.That(root.GetProperty("warmup").GetInt32(), Is.GreaterThanOrEqualTo(1));
        // tiny: V·C + maxT·C + L·(12C² + 13C) + 2C = 16384 + 4096 + 2·(49152 + 832) + 128.
        Assert.That(root.GetProperty("n_params").GetInt64(), Is.EqualTo(16384 + 4096 + 2 * (49152 + 832) + 128));
        double ms = root.GetProperty("ms_per_token").GetDouble(), min = root.GetProperty("ms_min").GetDouble();
        double tps = root.GetProperty("tokens_per_s").GetDouble(), prefill = root.GetProperty("prefill_ms").GetDouble();
        Assert.That(min, Is.GreaterThan(0).And.LessThanOrEqualTo(ms));
        Assert.That(prefill, Is.GreaterThan(0));
        // tokens_per_s is new tokens·B over the total decode time: between the rates of the slowest
        // and the fastest step, and no faster than the fastest step allows (2 rows per step).
        Assert.That(tps, Is.GreaterThan(0).And.LessThanOrEqualTo(2 * 1000.0 / min * 1.001));
        Assert.That(root.GetProperty("config").GetProperty("n_layer").GetInt32(), Is.EqualTo(2));
        Assert.That(root.GetProperty("config").GetProperty("n_positions").GetInt32(), Is.EqualTo(64), "5 + 7 tokens fit tiny's 64 positions");
    }

    [Test]
    public void TheRoofIsSampledBetweenTheStepsAndTheFractionsFollowFromTheReads()
    {
        // 2 timed generations of 12 steps: 3 interleaved reads (one after every 8th step).
        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", "tiny", "--prompt-tokens", "4", "--new-tokens", "12",
            "--warmup", "1", "--repeat", "2", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output.Trim());
        var root = doc.RootElement;
        double bytes = root.GetProperty("weight_bytes_per_step").GetDouble(), ms = root.GetProperty("ms_per_token").GetDouble();
        double read = root.GetProperty("read_gb_per_s").GetDouble(), peak = root.GetProperty("read_peak_gb_per_s").GetDouble();
        Assert.That(read, Is.GreaterThan(0));
        Assert.That(peak, Is.GreaterThan(0));
        // The fractions are the roof's step time over the median step, against each read (inputs rounded: 1% slack).
        Assert.That(root.GetProperty("roofline_fraction").GetDouble(), Is.EqualTo(bytes / (read * 1e9) * 1000 / ms).Within(1).Percent);
        Assert.That(root.GetProperty("roofline_peak_fraction").GetDouble(), Is.EqualTo(bytes / (peak * 1e9) * 1000 / ms).Within(1).Percent);
        Assert.That(root.GetProperty("roofline_tokens_per_s").GetDouble(), Is.EqualTo(read * 1e9 / bytes).Within(1).Percent);
    }

    [Test]
    public void ABatchListRunsEachSizeInTurn()
    {
        var runs = Json("one JSON array", "--prompt-tokens", "3", "--new-tokens", "4", "--batch", "1,3, 2", "--warmup", "0", "--repeat", "1")
            .RootElement.EnumerateArray().ToArray();
        Assert.That(runs.Select(e => e.GetProperty("batch").GetInt32()), Is.EqualTo(new[] { 1, 3, 2 }));
        foreach (var run in runs)
        {
            Assert.That(run.GetProperty("tokens_per_s").GetDouble(), Is.GreaterThan(0));
            Assert.That(run.GetProperty("ms_per_token").GetDouble(), Is.GreaterThan(0));
            Assert.That(run.GetProperty("weight_bytes_per_step").GetInt64(), Is.EqualTo(runs[0].GetProperty("weight_bytes_per_step").GetInt64()),
                "the weights a step reads do not depend on B");
        }

        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", "tiny", "--prompt-tokens", "3", "--new-tokens", "4",
            "--batch", "1,2", "--warmup", "0", "--repeat", "1");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Does.Contain("B=1,").And.Contain("B=2,"));
        Assert.That(output, Does.Contain("| B | weights | tokens/s | ms/token | roofline fraction | vs f32 |"));
        Assert.That(output.Split('\n').Count(l => l.StartsWith("| 1 | f32 |", StringComparison.Ordinal) || l.StartsWith("| 2 | f32 |", StringComparison.Ordinal)), Is.EqualTo(2));
    }

    [Test]
    public void AWeightsListRunsEveryFormatAtEveryBatchSize()
    {
        using var doc = Json("one JSON array", "--prompt-tokens", "3", "--new-tokens", "4", "--batch", "1,5", "--weights", "f32,bf16,q8",
            "--warmup", "0", "--repeat", "1");
        var runs = doc.RootElement.EnumerateArray().Select(e => (B: e.GetProperty("batch").GetInt32(), W: e.GetProperty("weights").GetString(),
            Bytes: e.GetProperty("weight_bytes_per_step").GetInt64())).ToArray();
        Assert.That(runs.Select(r => $"{r.B} {r.W}"), Is.EqualTo(new[] { "1 f32", "1 bf16", "1 q8", "5 f32", "5 bf16", "5 q8" }));
        // Each run reads its own format's weights: the switch drops the last format's copies.
        Assert.That(runs[1].Bytes, Is.LessThan(runs[0].Bytes));
        Assert.That(runs[2].Bytes, Is.LessThan(runs[1].Bytes));
        Assert.That(runs[4].Bytes, Is.EqualTo(runs[1].Bytes));

        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", "tiny", "--prompt-tokens", "3", "--new-tokens", "4",
            "--weights", "f32,q8", "--warmup", "0", "--repeat", "1");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Does.Contain("| 1 | q8 |"), "one B, two formats: still a table");
        CliRunner.RunExpectingUserError(["bench", "generate", "--model", "tiny", "--weights", "f32,q4"], "--weights", "not a weight format");
    }

    [Test]
    public void PeakMemoryIsReported()
    {
        using var doc = Json("one JSON object", "--prompt-tokens", "3", "--new-tokens", "2", "--warmup", "0", "--repeat", "1");
        Assert.That(doc.RootElement.GetProperty("warmup").GetInt32(), Is.Zero, "no warm-up asked for, none run");
        if (!OperatingSystem.IsLinux()) Assert.Ignore("VmHWM is Linux's");
        // The test host itself holds far more than the tiny model's 0.5 MB; a few MB is a safe floor.
        Assert.That(doc.RootElement.GetProperty("peak_rss_bytes").GetInt64(), Is.GreaterThan(4L << 20));
    }

    [Test]
    public void ProfileCountsTheOpsOfOneDecodeStep()
    {
        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", "tiny", "--prompt-tokens", "5", "--new-tokens", "7",
            "--warmup", "1", "--repeat", "2", "--profile", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output.Trim());
        var ops = doc.RootElement.GetProperty("profile").EnumerateArray()
            .ToDictionary(o => o.GetProperty("op").GetString()!, o => (Ms: o.GetProperty("ms_per_step").GetDouble(), Calls: o.GetProperty("calls_per_step").GetDouble()));
        // tiny has 2 layers: per decode step 4 matmuls a layer (qkv, projection, fc, fc projection) and the head,
        // one cached attention a layer. A prefill counted in would add its own 9 matmuls per 7 steps.
        Assert.That(ops["MatmulForward"].Calls, Is.EqualTo(9));
        Assert.That(ops["AttentionKvForward"].Calls, Is.EqualTo(2));
        // B = 1: the mean step is 1000 / tokens_per_s ms, and the ops run inside the steps (rounding: 0.1 tokens/s, 1e-4 ms per op).
        double meanStep = 1000.0 / (doc.RootElement.GetProperty("tokens_per_s").GetDouble() - 0.05);
        Assert.That(ops.Values.Sum(o => o.Ms), Is.GreaterThan(0).And.LessThanOrEqualTo(meanStep + 1e-4 * ops.Count),
            "the ops' time per step fits in the mean step");
    }

    [Test]
    public void PresetsGrowTheirContextToFitTheRun()
    {
        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", "tiny", "--prompt-tokens", "60", "--new-tokens", "10",
            "--warmup", "0", "--repeat", "1", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output.Trim());
        Assert.That(doc.RootElement.GetProperty("config").GetProperty("n_positions").GetInt32(), Is.EqualTo(70));
    }

    [Test]
    public void TableNamesTheNumbers()
    {
        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", "tiny", "--prompt-tokens", "3", "--new-tokens", "4",
            "--warmup", "0", "--repeat", "1", "--device", "reference");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Does.Contain("backend reference"));
        Assert.That(output, Does.Contain("prefill"));
        Assert.That(output, Does.Contain("tokens/s"));
    }

    [Test]
    public void GreedyTokensMatchAFullRecompute()
    {
        // The benchmark's decoding is real: every picked token is the argmax of Gpt2.Forward over the
        // whole prefix (prompt + tokens picked so far).
        using var model = new Gpt2(Gpt2Config.Tiny, new ReferenceBackend());
        model.InitializeWeights(3);
        const int B = 2, P = 4, N = 6;
        var result = GenerateBenchmark.Run(model, B, P, N, warmup: 0, repeat: 1, seed: 9);
        Assert.That(result.Generated, Has.Length.EqualTo(B * N));
        int V = model.Config.VocabSize;
        for (int b = 0; b < B; b++)
        {
            var sequence = result.Prompt.AsSpan(b * P, P).ToArray().ToList();
            for (int s = 0; s < N; s++)
            {
                int T = sequence.Count;
                model.Forward(sequence.ToArray(), [], 1, T);
                var logits = new float[T * V];
                model.Backend.Download(model.Activations!.Logits, logits);
                var last = logits.AsSpan((T - 1) * V, V);
                int best = 0;
                for (int j = 1; j < V; j++)
                    if (last[j] > last[best]) best = j;
                Assert.That(result.Generated[b * N + s], Is.EqualTo(best), $"row {b}, new token {s}");
                sequence.Add(best);
            }
        }
    }

    [TestCase("--prompt-tokens", "0", "--prompt-tokens")]
    [TestCase("--new-tokens", "0", "--new-tokens")]
    [TestCase("--batch", "0", "--batch")]
    [TestCase("--batch", "1,0", "--batch")]
    [TestCase("--batch", "1,x", "--batch")]
    [TestCase("--repeat", "0", "--repeat")]
    [TestCase("--warmup", "-1", "--warmup")]
    [TestCase("--model", "nope", "nope")]
    [TestCase("--device", "gpu", "--device")]
    public void BadFlagsAreUserErrors(string flag, string value, string named)
    {
        // Small valid values for every other flag, so each run fails on the one bad flag only.
        var args = new List<string> { "bench", "generate" };
        foreach (var (f, v) in new[] { ("--model", "tiny"), ("--prompt-tokens", "2"), ("--new-tokens", "2"), ("--warmup", "0"), ("--repeat", "1") })
            if (f != flag) args.AddRange([f, v]);
        args.AddRange([flag, value]);
        CliRunner.RunExpectingUserError([.. args], named);
    }

    [Test]
    public void ACheckpointMustHoldTheTokens()
    {
        string dir = Fixtures.Path("hf_tiny");
        var config = (Hyper.Runtime.Models.Gpt2Config)Hyper.Runtime.IO.Checkpoint.ReadConfig(dir);
        CliRunner.RunExpectingUserError(["bench", "generate", "--model", dir, "--prompt-tokens", $"{config.NPositions}", "--new-tokens", "1"],
            "exceed the context", $"{config.NPositions} tokens");
        var (code, output, err) = CliRunner.Run("bench", "generate", "--model", dir, "--prompt-tokens", "3", "--new-tokens", "2",
            "--warmup", "0", "--repeat", "1", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output.Trim());
        Assert.That(doc.RootElement.GetProperty("config").GetProperty("n_positions").GetInt32(), Is.EqualTo(config.NPositions));
    }
}
