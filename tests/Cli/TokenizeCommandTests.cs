using System.Text.Json;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper tokenize` prints the ids the independent implementation gives (the tokenizer fixtures' expected.json).</summary>
[NonParallelizable]
public class TokenizeCommandTests : TempDirTest
{
    private static string Folder(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "tokenizers", name);

    [TestCase("llama2")]
    [TestCase("llama3")]
    public void JsonIdsEqualTheReferenceIdsOfTheLongestCase(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder(name), "expected.json")));
        var longest = doc.RootElement.GetProperty("cases").EnumerateArray().MaxBy(c => c.GetProperty("text").GetString()!.Length);
        string text = longest.GetProperty("text").GetString()!;
        var expected = longest.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.That(expected, Has.Length.GreaterThan(20), "a mixed text, not a trivial one");
        string file = Path.Combine(Dir, "text.txt");
        File.WriteAllText(file, text);
        var (code, stdout, stderr) = CliRunner.Run("tokenize", "--model", Folder(name), "--file", file, "--json");
        Assert.That(code, Is.EqualTo(0), stderr);
        using var got = JsonDocument.Parse(stdout);
        Assert.That(got.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void AFolderWithoutATokenizerFallsBackToTheByteTokenizerOfItsConfig()
    {
        string llama = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", "llama");
        var (code, stdout, stderr) = CliRunner.Run("tokenize", "--model", llama, "--text", "Hé");
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout.Trim(), Is.EqualTo("72 195 169"), "vocabulary 256 and no tokenizer.json: UTF-8 bytes");
    }

    [Test]
    public void TextAndFileTogetherIsAUserError() =>
        CliRunner.RunExpectingUserError(["tokenize", "--model", Folder("llama3"), "--text", "a", "--file", "b"], "exactly one of --text and --file");

    [Test]
    public void AnUnsupportedTokenizerModelIsOneLineExit2()
    {
        string dir = Path.Combine(Dir, "wordpiece");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "WordPiece", "vocab": {"a": 0}}, "added_tokens": []}""");
        CliRunner.RunExpectingUserError(["tokenize", "--model", dir, "--text", "a"], "tokenizer.json", "WordPiece");
    }
}
