using System.Text.Json;
using Hyper.Runtime.Text;
using Hyper.Tests.Support;

namespace Hyper.Tests.Text;

/// <summary>
/// Real tokenizer.json files of both kinds (byte-level: Llama 3, Qwen3; SentencePiece-style with
/// byte fallback: Llama 2) against the ids and decoded text Hugging Face's tokenizers.js gives for
/// the same texts (tests/Fixtures/tokenizers/*/expected.json, from tools/tokenizers/make-fixtures.sh).
/// </summary>
public class HuggingFaceTokenizerFixtureTests
{
    private static readonly string[] Names = ["llama2", "llama3", "qwen3"];
    private static readonly Dictionary<string, HuggingFaceTokenizer> Loaded = [];

    internal static HuggingFaceTokenizer Load(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var tok))
                Loaded[name] = tok = HuggingFaceTokenizer.Load(Fixtures.Path(Path.Combine("tokenizers", name)));
            return tok;
        }
    }

    internal static IEnumerable<(string Text, int[] Ids, string Decoded)> Cases(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path(Path.Combine("tokenizers", name, "expected.json"))));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            yield return (c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!);
    }

    [TestCaseSource(nameof(Names))]
    public void Encodes_as_tokenizers_js(string name)
    {
        var tok = Load(name);
        var failures = new List<string>();
        foreach (var (text, ids, _) in Cases(name))
        {
            int[] got = tok.Encode(text);
            if (!got.SequenceEqual(ids))
                failures.Add($"{JsonSerializer.Serialize(text)}\n  expected [{string.Join(",", ids)}]\n  got      [{string.Join(",", got)}]");
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [TestCaseSource(nameof(Names))]
    public void Decodes_as_tokenizers_js(string name)
    {
        var tok = Load(name);
        foreach (var (text, ids, decoded) in Cases(name))
            Assert.That(tok.Decode(ids), Is.EqualTo(decoded), JsonSerializer.Serialize(text));
    }
}
