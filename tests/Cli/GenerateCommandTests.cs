using System.Text.Json;
using Hyper.Runtime.Data;
using Hyper.Runtime.Text;
using Hyper.Tests.Data;
using Hyper.Tests.Generation;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper generate` on a tiny checkpoint: streaming text, JSON lines, seeds, controls, and every bad input.</summary>
[NonParallelizable]
public class GenerateCommandTests
{
    private string _dir = "";
    private string _model = "";

    [OneTimeSetUp]
    public void SaveModel()
    {
        _dir = Corpora.TempDir();
        _model = Path.Combine(_dir, "tiny");
        TinyModel.Save(_model);
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string[] Generate(params string[] extra) => ["generate", "--model", _model, .. extra];

    private static JsonElement[] JsonLines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

    [Test]
    public void StreamsThePromptAndItsContinuation()
    {
        var (code, stdout, stderr) = CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "16"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.StartWith("During these"));
        Assert.That(stdout.Length, Is.GreaterThan("During these".Length + 10), "16 byte tokens of text follow");
        Assert.That(stderr, Does.Contain("1 prompt, 16 tokens"));
    }

    [Test]
    public void JsonGivesOneObjectPerPromptWithEveryField()
    {
        string prompts = WriteFile("prompts.txt", "During these\n\nCall me\nIshmael.\n");
        var (code, stdout, stderr) = CliRunner.Run(Generate("--prompt-file", prompts, "--max-new-tokens", "12", "--json", "--top-p", "0.9"));
        Assert.That(code, Is.EqualTo(0), stderr);
        var lines = JsonLines(stdout);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines.Select(l => l.GetProperty("prompt").GetString()), Is.EqualTo(new[] { "During these", "Call me\nIshmael." }));
        var byteTok = Tokenizers.Create("byte");
        for (int i = 0; i < 2; i++)
        {
            var l = lines[i];
            Assert.That(l.GetProperty("prompt_index").GetInt32(), Is.EqualTo(i));
            int[] tokens = l.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            double[] logprobs = l.GetProperty("logprobs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double[] entropies = l.GetProperty("entropies").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.That(tokens, Has.Length.EqualTo(12));
            Assert.That(l.GetProperty("text").GetString(), Is.EqualTo(byteTok.Decode(tokens)));
            Assert.That(l.GetProperty("finish_reason").GetString(), Is.EqualTo("length"));
            Assert.That(l.GetProperty("prompt_tokens").GetArrayLength(), Is.EqualTo(byteTok.Encode(l.GetProperty("prompt").GetString()!).Length));
            Assert.That(logprobs, Has.Length.EqualTo(12).And.All.LessThanOrEqualTo(0));
            Assert.That(entropies, Has.Length.EqualTo(12).And.All.InRange(0, Math.Log(256) + 1e-9));
            Assert.That(l.GetProperty("top1").GetArrayLength(), Is.EqualTo(12));
        }
    }

    [Test]
    public void SameSeedSameTextOtherSeedOtherText()
    {
        string[] Args(string seed) => Generate("--prompt", "During these", "--max-new-tokens", "40", "--temperature", "1", "--seed", seed, "--json");
        string a = CliRunner.Run(Args("3")).Out, b = CliRunner.Run(Args("3")).Out, c = CliRunner.Run(Args("4")).Out;
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
    }

    [Test]
    public void GreedyIsTheDefaultAndIgnoresTheSeed()
    {
        string plain = CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "20", "--json", "--seed", "1")).Out;
        string greedy = CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "20", "--json", "--greedy", "--seed", "2")).Out;
        string zero = CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "20", "--json", "--temperature", "0")).Out;
        Assert.That(greedy, Is.EqualTo(plain));
        Assert.That(zero, Is.EqualTo(plain));
    }

    [Test]
    public void PromptFileDashReadsStdin()
    {
        var stdin = Console.In;
        Console.SetIn(new StringReader("During these\n\nCall me\n"));
        try
        {
            var (code, stdout, stderr) = CliRunner.Run(Generate("--prompt-file", "-", "--max-new-tokens", "4", "--json"));
            Assert.That(code, Is.EqualTo(0), stderr);
            Assert.That(JsonLines(stdout).Select(l => l.GetProperty("prompt").GetString()), Is.EqualTo(new[] { "During these", "Call me" }));
        }
        finally
        {
            Console.SetIn(stdin);
        }
    }

    [Test]
    public void StopStringCutsTheText()
    {
        string full = JsonLines(CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "40", "--json")).Out)[0].GetProperty("text").GetString()!;
        string stop = full.Substring(10, 2);
        var cut = JsonLines(CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "40", "--json", "--stop", stop)).Out)[0];
        Assert.That(cut.GetProperty("text").GetString(), Is.EqualTo(full[..full.IndexOf(stop, StringComparison.Ordinal)]));
        Assert.That(cut.GetProperty("finish_reason").GetString(), Is.EqualTo("stop"));
    }

    [Test]
    public void BlockCitationsStopsCopyingTheFile()
    {
        // The model was overfitted on this text: greedy decoding copies long runs of it unless blocked.
        string train = WriteFile("train.txt", TinyModel.TrainingText);
        var index = new Hyper.Runtime.Metrics.TokenIndex(Tokenizers.Create("byte").Encode(TinyModel.TrainingText));
        int[] Tokens(string stdout) => JsonLines(stdout)[0].GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] free = Tokens(CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "40", "--json")).Out);
        var (code, stdout, stderr) = CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "40", "--json", "--block-citations", train));
        Assert.That(code, Is.EqualTo(0), stderr);
        int[] blocked = Tokens(stdout);
        Assert.That(Hyper.Runtime.Metrics.TextMetrics.LongestSharedRun(free, index), Is.GreaterThan(10));
        Assert.That(Hyper.Runtime.Metrics.TextMetrics.LongestSharedRun(blocked, index), Is.LessThanOrEqualTo(5));

        // A token shard works as the file too.
        string shard = Path.Combine(_dir, "train.bin");
        TokenShard.Write(shard, Tokenizers.Create("byte").Encode(TinyModel.TrainingText));
        Assert.That(Tokens(CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "40", "--json", "--block-citations", shard)).Out), Is.EqualTo(blocked));
    }

    [Test]
    public void SlidingWindowGoesPastTheContext()
    {
        var (code, stdout, stderr) = CliRunner.Run(Generate("--prompt", "During these", "--max-new-tokens", "100", "--sliding-window", "--json"));
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(JsonLines(stdout)[0].GetProperty("tokens").GetArrayLength(), Is.EqualTo(100));
    }

    [Test]
    public void HelpDocumentsTheOrderOfTheControls()
    {
        var (code, stdout, _) = CliRunner.Run("generate", "--help");
        Assert.That(code, Is.EqualTo(0));
        string flat = string.Join(' ', stdout.Split((char[])['\n', ' '], StringSplitOptions.RemoveEmptyEntries));
        Assert.That(flat, Does.Contain("1. repetition penalty").And.Contain("5. temperature, 6. top-k, 7. top-p, 8. min-p, 9. typical-p"));
        Assert.That(flat, Does.Contain("raw model distribution"));
    }

    // --- bad input: exit code 2, one line ---

    [Test]
    public void PromptLongerThanTheContext() =>
        CliRunner.RunExpectingUserError(Generate("--prompt", new string('a', 70), "--sliding-window"), "70 tokens", "context of 64");

    [Test]
    public void PromptPlusNewTokensBeyondTheContext() =>
        CliRunner.RunExpectingUserError(Generate("--prompt", new string('a', 40), "--max-new-tokens", "30"), "40 tokens", "70", "n_positions", "sliding window");

    [Test]
    public void EmptyPromptFile() =>
        CliRunner.RunExpectingUserError(Generate("--prompt-file", WriteFile("empty.txt", "\n \n")), "empty.txt", "no prompt");

    [Test]
    public void MissingPromptFile()
    {
        string missing = Path.Combine(_dir, "missing.txt");
        CliRunner.RunExpectingUserError(Generate("--prompt-file", missing), missing, "does not exist");
    }

    [Test]
    public void EmptyPrompt() => CliRunner.RunExpectingUserError(Generate("--prompt", ""), "--prompt is empty");

    [Test]
    public void UnknownModelFolder()
    {
        string missing = Path.Combine(_dir, "no-such-model");
        CliRunner.RunExpectingUserError(["generate", "--model", missing, "--prompt", "x"], missing, "no such model folder");
        string notCheckpoint = Path.Combine(_dir, "not-a-checkpoint");
        Directory.CreateDirectory(notCheckpoint);
        CliRunner.RunExpectingUserError(["generate", "--model", notCheckpoint, "--prompt", "x"], notCheckpoint, "not a checkpoint folder");
    }

    [Test]
    public void PromptAndPromptFileTogether() =>
        CliRunner.RunExpectingUserError(Generate("--prompt", "x", "--prompt-file", WriteFile("p.txt", "y")), "--prompt and --prompt-file");

    [Test]
    public void GreedyWithATemperature() =>
        CliRunner.RunExpectingUserError(Generate("--prompt", "x", "--greedy", "--temperature", "0.7"), "--greedy contradicts --temperature 0.7");

    [Test]
    public void GreedyWithASamplingFilter()
    {
        CliRunner.RunExpectingUserError(Generate("--prompt", "x", "--greedy", "--top-k", "5"), "--top-k has no effect with greedy decoding");
        CliRunner.RunExpectingUserError(Generate("--prompt", "x", "--temperature", "0", "--min-p", "0.1"), "--min-p has no effect", "--temperature 0");
    }

    [TestCase("--top-p", "1.5", "--top-p 1.5 is outside (0, 1]")]
    [TestCase("--top-p", "0", "--top-p 0 is outside (0, 1]")]
    [TestCase("--min-p", "-0.5", "--min-p -0.5 is outside [0, 1]")]
    [TestCase("--typical-p", "2", "--typical-p 2 is outside (0, 1]")]
    [TestCase("--temperature", "-1", "--temperature -1")]
    [TestCase("--repetition-penalty", "0", "--repetition-penalty 0")]
    [TestCase("--no-repeat-ngram-size", "-2", "--no-repeat-ngram-size -2")]
    [TestCase("--max-new-tokens", "-1", "--max-new-tokens -1")]
    public void ValueOutsideItsRange(string flag, string value, string message) =>
        CliRunner.RunExpectingUserError(Generate("--prompt", "x", flag, value), message);

    [Test]
    public void MissingCitationFile()
    {
        string missing = Path.Combine(_dir, "missing-train.txt");
        CliRunner.RunExpectingUserError(Generate("--prompt", "x", "--block-citations", missing), missing, "no such file");
    }

    [Test]
    public void EmptyStopString() => CliRunner.RunExpectingUserError(Generate("--prompt", "x", "--stop", ""), "stop string");
}
