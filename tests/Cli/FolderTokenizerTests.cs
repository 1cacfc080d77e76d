using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.IO;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// A model folder's own tokenizer.json is the one train, hyperfit and generate read, and every
/// checkpoint they write carries it (tokenizer.json, tokenizer_config.json, hyper.json naming it),
/// so the saved folder tokenizes and decodes as its source did.
/// </summary>
[NonParallelizable]
public class FolderTokenizerTests : TempDirTest
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", name);

    /// <summary>
    /// A SentencePiece-style BPE of 256 byte-fallback tokens whose ids run backwards (byte b is id
    /// 255 − b): it fits the 256-token fixture model, and its ids differ from the byte tokenizer's,
    /// so a test can tell which tokenizer produced them.
    /// </summary>
    private static void WriteReversedByteTokenizer(string dir)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 255 - b;
        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(),
            ["normalizer"] = null,
            ["pre_tokenizer"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteFallback" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(), ["byte_fallback"] = true },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"eos_token\": null}");
    }

    private static string CopyOf(string source, string dest)
    {
        Directory.CreateDirectory(dest);
        foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dest, Path.GetFileName(f)));
        return dest;
    }

    private static string Ids(string dir, string text)
    {
        var (code, stdout, err) = CliRunner.Run("tokenize", "--model", dir, "--text", text);
        Assert.That(code, Is.EqualTo(0), err);
        return stdout.Trim();
    }

    [Test]
    public void TrainAndHyperfitUseTheFolderTokenizerAndSaveIt()
    {
        string model = CopyOf(Fixture("llama"), Path.Combine(Dir, "model"));
        WriteReversedByteTokenizer(model);
        Assert.That(Ids(model, "a"), Is.EqualTo("158"), "the folder's tokenizer: 'a' (97) is id 255 - 97");

        string run = Path.Combine(Dir, "run");
        var (code, _, err) = CliRunner.Run("train", "--model", model, "--data", Text, "--out", run, "--steps", "2", "--batch", "2", "--seq", "16", "--eval-every", "0");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(err, Does.Contain("(hf-"), "the corpus is tokenized with the folder's tokenizer.json");
        Assert.That(File.ReadAllBytes(Path.Combine(run, "tokenizer.json")), Is.EqualTo(File.ReadAllBytes(Path.Combine(model, "tokenizer.json"))));
        Assert.That(File.Exists(Path.Combine(run, "tokenizer_config.json")));
        Assert.That(JsonNode.Parse(File.ReadAllText(Path.Combine(run, Checkpoint.StateFile)))!["tokenizer"]!.GetValue<string>(), Is.EqualTo("tokenizer.json"));
        Assert.That(Ids(run, "a"), Is.EqualTo("158"));

        // Resuming reads the copy in the run folder.
        (code, _, err) = CliRunner.Run("train", "--resume", "--data", Text, "--out", run, "--steps", "3", "--batch", "2", "--seq", "16", "--eval-every", "0");
        Assert.That(code, Is.EqualTo(0), err);

        string fit = Path.Combine(Dir, "fit");
        (code, _, err) = CliRunner.Run("hyperfit", "--model", run, "--data", Text, "--out", fit, "--samples", "4", "--seq", "16", "--epochs", "1",
            "--batch", "2", "--lr", "1e-3", "--train-layers", "last:1", "--prompts", "1", "--prompt-tokens", "8", "--new-tokens", "8");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(Ids(fit, "a"), Is.EqualTo("158"));

        // Generation decodes with it: the prompt comes back as it went in.
        var (gcode, stdout, gerr) = CliRunner.Run("generate", "--model", fit, "--prompt", "Call me", "--max-new-tokens", "4");
        Assert.That(gcode, Is.EqualTo(0), gerr);
        Assert.That(stdout, Does.StartWith("Call me"));
    }

    [Test]
    public void HyperJsonNamingAMissingTokenizerJsonIsRefused()
    {
        string model = CopyOf(Fixture("llama"), Path.Combine(Dir, "model"));
        File.WriteAllText(Path.Combine(model, Checkpoint.StateFile), "{\"tokenizer\": \"tokenizer.json\"}");
        CliRunner.RunExpectingUserError(["eval", "--model", model, "--data", Text, "--seq", "16"], Checkpoint.StateFile, "tokenizer.json", "is missing");
    }

    [Test]
    public void ANamedTokenizerWiderThanTheVocabularyIsRefusedNamingTheFolder()
    {
        string model = CopyOf(Fixture("llama"), Path.Combine(Dir, "model"));
        File.WriteAllText(Path.Combine(model, Checkpoint.StateFile), "{\"tokenizer\": \"gpt2\"}");
        CliRunner.RunExpectingUserError(["hyperfit", "--model", model, "--data", Text, "--out", Path.Combine(Dir, "fit"), "--samples", "2", "--seq", "16"],
            model, "50257 ids do not fit the model's vocab_size 256");
    }
}
