using System.Text.Json;
using Hyper.Tests.Data;
using Hyper.Tests.Generation;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper eval-gen`: models × decodings × prompts into a table, JSON, CSV and samples; bad input.</summary>
[NonParallelizable]
public class EvalGenCommandTests
{
    private const string TopP = "top-p=0.9,temperature=0.7,top-k=50";

    private string _dir = "";
    private string _model = "";
    private string _prompts = "";

    [OneTimeSetUp]
    public void SaveModel()
    {
        _dir = Corpora.TempDir();
        _model = Path.Combine(_dir, "tiny");
        TinyModel.Save(_model);
        _prompts = Path.Combine(_dir, "prompts.txt");
        File.WriteAllText(_prompts, "During these\n\nCall me Ishmael.\n\nTo these questions\n");
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(_dir, recursive: true);

    private string[] EvalGen(params string[] extra) =>
        ["eval-gen", "--model", _model, "--decoding", "greedy", "--decoding", TopP, "--new-tokens", "16", .. extra];

    [Test]
    public void TableHasARowPerModelAndDecoding()
    {
        var (code, stdout, stderr) = CliRunner.Run(EvalGen("--prompts-file", _prompts));
        Assert.That(code, Is.EqualTo(0), stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(4), stdout);
        Assert.That(lines[0], Does.StartWith("model").And.Contain("TTR").And.Contain("self-BLEU").And.Contain("entropy").And.Contain("top-1"));
        Assert.That(lines[2], Does.StartWith("tiny: greedy "));
        Assert.That(lines[3], Does.StartWith($"tiny: {TopP} "));
        Assert.That(stderr, Does.Contain("3 prompts x 16 new tokens"));
    }

    [Test]
    public void SlidingWindowGeneratesPastTheContext()
    {
        // The tiny model's context is 64 tokens: 80 new tokens after a prompt only fit with a sliding window.
        string[] args = ["eval-gen", "--model", _model, "--decoding", "greedy", "--prompts-file", _prompts, "--new-tokens", "80"];
        CliRunner.RunExpectingUserError(args, "context", "sliding window");
        var (code, stdout, stderr) = CliRunner.Run([.. args, "--sliding-window", "--json"]);
        Assert.That(code, Is.EqualTo(0), stderr);
        foreach (var row in JsonDocument.Parse(stdout).RootElement.EnumerateArray())
            Assert.That(row.GetProperty("mean_length").GetDouble(), Is.EqualTo(80), "every prompt got all 80 tokens");
    }

    [Test]
    public void JsonCsvAndSamplesCarryEveryMeasurement()
    {
        string train = Path.Combine(_dir, "train.txt"), csv = Path.Combine(_dir, "table.csv"), samples = Path.Combine(_dir, "samples.jsonl");
        File.WriteAllText(train, TinyModel.TrainingText);
        var (code, stdout, stderr) = CliRunner.Run(EvalGen("--prompts-file", _prompts, "--train-data", train, "--val-data", train,
            "--json", "--csv", csv, "--samples", samples));
        Assert.That(code, Is.EqualTo(0), stderr);

        var rows = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToArray();
        Assert.That(rows.Select(r => r.GetProperty("decoding").GetString()), Is.EqualTo(new[] { "greedy", TopP }));
        foreach (var r in rows)
        {
            Assert.That(r.GetProperty("model").GetString(), Is.EqualTo("tiny"));
            Assert.That(r.GetProperty("generations").GetInt32(), Is.EqualTo(3));
            Assert.That(r.GetProperty("mean_length").GetDouble(), Is.EqualTo(16));
            foreach (string key in new[] { "ttr", "distinct1", "distinct2", "self_bleu", "repeated_4gram", "overlap_mean", "overlap_max", "mean_entropy", "mean_top1", "perplexity" })
                Assert.That(r.GetProperty(key).ValueKind, Is.EqualTo(JsonValueKind.Number), key);
        }
        // Both rows of one model share its perplexity (a real one: above 1, below the 256 of a uniform guess).
        Assert.That(rows[1].GetProperty("perplexity").GetDouble(), Is.EqualTo(rows[0].GetProperty("perplexity").GetDouble()));
        Assert.That(rows[0].GetProperty("perplexity").GetDouble(), Is.InRange(1.0, 256.0));

        Assert.That(File.ReadAllLines(csv), Has.Length.EqualTo(3));
        var generations = File.ReadAllLines(samples).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.That(generations, Has.Length.EqualTo(6));
        Assert.That(generations.Select(g => g.GetProperty("tokens").GetArrayLength()), Is.All.EqualTo(16));
        Assert.That(generations.Select(g => g.GetProperty("decoding").GetString()).Distinct(), Is.EqualTo(new[] { "greedy", TopP }));
        Assert.That(generations[0].GetProperty("prompt").GetString(), Is.EqualTo("During these"));
    }

    [Test]
    public void PromptsFromAHeldOutFile()
    {
        string samples = Path.Combine(_dir, "from.jsonl");
        var (code, stdout, stderr) = CliRunner.Run(EvalGen("--from", Fixtures.Path("hf_eval.txt"), "--prompts", "3", "--prompt-tokens", "8", "--json", "--samples", samples));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(JsonDocument.Parse(stdout).RootElement.EnumerateArray().Select(r => r.GetProperty("generations").GetInt32()), Is.All.EqualTo(3));
        var prompts = File.ReadAllLines(samples).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.That(prompts.Select(p => p.GetProperty("prompt_tokens").GetArrayLength()), Is.All.EqualTo(8));
        Assert.That(prompts.Select(p => p.GetProperty("prompt").GetString()).Distinct().Count(), Is.EqualTo(3), "three different passages");
    }

    [Test]
    public void ModelsAreLabelledByFolderName()
    {
        string other = Path.Combine(_dir, "other");
        if (!Directory.Exists(other)) TinyModel.Save(other);
        var (code, stdout, stderr) = CliRunner.Run(["eval-gen", "--model", _model, "--model", other, "--prompts-file", _prompts, "--new-tokens", "8", "--json"]);
        Assert.That(code, Is.EqualTo(0), stderr);
        var rows = JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToArray();
        Assert.That(rows.Select(r => r.GetProperty("label").GetString()), Is.EqualTo(new[] { "tiny: greedy", "other: greedy" }));
    }

    // --- bad input ---

    [Test]
    public void BadDecodingSpec()
    {
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", _prompts, "--decoding", "top-p=2"), "--decoding 'top-p=2'", "top-p 2 is outside (0, 1]");
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", _prompts, "--decoding", "greedy,temperature=0.5"), "greedy contradicts temperature 0.5");
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", _prompts, "--decoding", "top-q=1"), "unknown key 'top-q'");
        string missing = Path.Combine(_dir, "missing.txt");
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", _prompts, "--decoding", $"greedy,block-citations={missing}"), missing, "no such file");
    }

    [Test]
    public void PromptSources()
    {
        CliRunner.RunExpectingUserError(EvalGen(), "no prompts");
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", _prompts, "--from", _prompts), "exclude each other");
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", _prompts, "--prompts", "5"), "--prompts and --prompt-tokens", "--from");
        string missing = Path.Combine(_dir, "missing-prompts.txt");
        CliRunner.RunExpectingUserError(EvalGen("--prompts-file", missing), missing, "no such file");
        CliRunner.RunExpectingUserError(EvalGen("--from", _prompts, "--prompts", "50", "--prompt-tokens", "8"), _prompts, "too short");
    }

    [Test]
    public void UnknownModelFolder()
    {
        string missing = Path.Combine(_dir, "no-such-model");
        CliRunner.RunExpectingUserError(["eval-gen", "--model", missing, "--prompts-file", _prompts], missing, "no such model folder");
    }

    [Test]
    public void PromptPlusNewTokensBeyondTheContext() =>
        CliRunner.RunExpectingUserError(["eval-gen", "--model", _model, "--prompts-file", _prompts, "--new-tokens", "60"], "tiny: prompt 1 of 3", "n_positions");
}
