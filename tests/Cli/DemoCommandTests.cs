using System.Globalization;
using System.Text.RegularExpressions;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper demo --quick` on a micro model: every stage runs and the output shows the comparison.</summary>
[NonParallelizable]
public partial class DemoCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void QuickDemoHyperfitsAndPrintsContinuationsAndTable()
    {
        string data = Corpora.Require("moby-dick.txt"), model = Path.Combine(_dir, "pretrained"), run = Path.Combine(_dir, "demo");
        Trainer.Run(new TrainOptions { DataPath = data, OutDir = model, Model = "tiny", Steps = 20, Batch = 4, Seq = 32, EvalWindows = 2 });

        var (code, output, err) = CliRunner.Run("demo", "--quick", "--model", model, "--data", data, "--out", run);
        Assert.That(code, Is.Zero, err);
        TestContext.Out.WriteLine(output);

        // Stage 1: the hyperfitting loss fell from the first epoch to the last.
        var m = TrainLoss().Match(output);
        Assert.That(m.Success, "a train-loss line\n" + output);
        double first = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), last = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.That(last, Is.LessThan(first));
        Assert.That(err, Does.Contain("epoch   3"), "per-epoch progress on stderr");

        // Stage 2: two prompts, each continued by the three decodings.
        Assert.That(Regex.Matches(output, "   prompt: ").Count, Is.EqualTo(2));
        foreach (string label in new[] { "original: greedy ", "original: top-p 0.9, t 0.7, top-k 50 ", "hyperfitted: greedy " })
            Assert.That(Regex.Matches(output, "   " + Regex.Escape(label) + @"\s*\.\.\.").Count, Is.EqualTo(2), label);

        // Stage 3: the table's header and its four rows, each over the 4 prompts.
        var table = output.Split('\n').SkipWhile(l => !l.StartsWith("model", StringComparison.Ordinal)).ToList();
        Assert.That(table, Is.Not.Empty, "a metrics table\n" + output);
        Assert.That(table[0], Does.Contain("TTR").And.Contain("entropy").And.Contain("overlap"));
        string[] rows = ["original: greedy", "original: top-p 0.9, t 0.7, top-k 50", "hyperfitted: greedy", "hyperfitted: greedy, citation blocker"];
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.That(table[2 + i], Does.StartWith(rows[i]), "rows under the header and its rule");
            Assert.That(table[2 + i][rows[i].Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], Is.EqualTo("4"), "generations");
        }
        Assert.That(Directory.Exists(run) && File.Exists(Path.Combine(run, "hyperfit.png")));
    }

    [Test]
    public void MissingModelIsAUserError()
    {
        string data = Corpora.Require("moby-dick.txt"), missing = Path.Combine(_dir, "no-model");
        CliRunner.RunExpectingUserError(["demo", "--quick", "--model", missing, "--data", data, "--out", Path.Combine(_dir, "demo")], "--model", "no-model", "no such folder");
    }

    [GeneratedRegex(@"train loss ([0-9.]+) \(epoch 1\) -> ([0-9.]+) nats/token")]
    private static partial Regex TrainLoss();
}
