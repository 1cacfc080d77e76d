using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper train` end to end: a tiny model learns Moby-Dick, with its log, plot and summary.</summary>
[NonParallelizable]
public class TrainCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void TinyModelLearnsAndWritesLogPlotAndSummary()
    {
        string data = Corpora.Require("moby-dick.txt"), run = Path.Combine(_dir, "run");
        const int Steps = 200;
        var (code, output, err) = CliRunner.Run("train", "--model", "tiny", "--data", data, "--out", run,
            "--steps", $"{Steps}", "--batch", "8", "--seq", "64", "--eval-every", "100", "--json");
        Assert.That(code, Is.EqualTo(0), err);

        // log.jsonl: the held-out loss before training, then exactly one line per step, in order.
        var lines = File.ReadAllLines(Path.Combine(run, "log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.That(lines, Has.Count.EqualTo(Steps + 1));
        Assert.That(lines[0]["step"]!.GetValue<int>(), Is.Zero);
        Assert.That(lines[0].ContainsKey("loss"), Is.False, "step 0 has no training loss yet");
        for (int s = 1; s <= Steps; s++)
        {
            Assert.That(lines[s]["step"]!.GetValue<int>(), Is.EqualTo(s));
            Assert.That(float.IsFinite(lines[s]["loss"]!.GetValue<float>()), $"step {s}");
        }
        double v0 = lines[0]["val_loss"]!.GetValue<double>();
        double vLast = lines[^1]["val_loss"]!.GetValue<double>();
        Assert.That(lines[100].ContainsKey("val_loss"), "--eval-every 100");
        TestContext.Out.WriteLine($"held-out loss {v0:F4} -> {vLast:F4}; train loss {lines[1]["loss"]} -> {lines[^1]["loss"]}");
        // An untrained byte model sits at ln 256 = 5.55; 200 steps of a 120k-parameter model on
        // English reach about 2.6 (it has learnt letter and word statistics). Well below the start,
        // and far beyond what noise in the held-out estimate could produce.
        Assert.That(v0, Is.EqualTo(Math.Log(256)).Within(0.1));
        Assert.That(vLast, Is.LessThan(0.6 * v0));

        // loss.png: a PNG (signature, then an IHDR chunk with a non-empty image).
        var png = File.ReadAllBytes(Path.Combine(run, "loss.png"));
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
        Assert.That(System.Text.Encoding.ASCII.GetString(png, 12, 4), Is.EqualTo("IHDR"));
        Assert.That(System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), Is.GreaterThan(0), "width");

        // --json: the last stdout line summarises the run.
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("steps").GetInt32(), Is.EqualTo(Steps));
        Assert.That(root.GetProperty("final_loss").GetSingle(), Is.EqualTo(lines[^1]["loss"]!.GetValue<float>()));
        Assert.That(root.GetProperty("tokens_per_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(root.GetProperty("out").GetString(), Is.EqualTo(Path.GetFullPath(run)));
        Assert.That(File.Exists(Path.Combine(run, "model.safetensors")));
    }
}
