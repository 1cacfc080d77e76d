using Hyper.Runtime.Text;
using Hyper.Tests.Data;
using Microsoft.ML.Tokenizers;

namespace Hyper.Tests.Text;

public class Gpt2TokenizerTests
{
    private static readonly string[] NonAscii = ["café au lait", "中文字符和标点。", "emoji 😀👍🏽🇫🇷 end", "naïve résumé — “quotes” ü ß"];

    private static Gpt2Tokenizer Tok => Gpt2Tokenizer.Shared;

    [Test]
    public void Describes_itself()
    {
        ITokenizer tok = Tokenizers.Create("gpt2");
        Assert.That(tok.Name, Is.EqualTo("gpt2"));
        Assert.That(tok.VocabSize, Is.EqualTo(50257));
        Assert.That(tok.EndOfText, Is.EqualTo(50256));
    }

    [Test]
    public void Known_ids()
    {
        Assert.That(Tok.Encode("Hello world"), Is.EqualTo(new[] { 15496, 995 }));
        Assert.That(Tok.Encode("Hello\n\nWorld"), Is.EqualTo(new[] { 15496, 198, 198, 10603 }));
    }

    [Test]
    public void End_of_text_is_the_special_id()
    {
        Assert.That(Tok.Encode("<|endoftext|>"), Is.EqualTo(new[] { 50256 }));
        Assert.That(Tok.Encode("a<|endoftext|>b"), Is.EqualTo(new[] { 64, 50256, 65 }));
        Assert.That(Tok.Decode([64, 50256, 65]), Is.EqualTo("a<|endoftext|>b"));
    }

    [Test]
    public void End_of_text_survives_a_large_corpus()
    {
        // Microsoft.ML.Tokenizers 2.0.1 with its default cache forgets the special token after
        // encoding about a megabyte of varied text; Gpt2Tokenizer splits it out itself.
        var tok = new Gpt2Tokenizer();
        tok.Encode(File.ReadAllText(Corpora.Require("moby-dick.txt")));
        Assert.That(tok.Encode("x<|endoftext|>"), Is.EqualTo(new[] { 87, 50256 }));
        Assert.That(tok.Encode("<|endoftext|><|endoftext|>"), Is.EqualTo(new[] { 50256, 50256 }));
    }

    [Test]
    public void Round_trips_moby_dick_paragraphs()
    {
        foreach (string p in Corpora.Paragraphs("moby-dick.txt", 300))
            Assert.That(Tok.Decode(Tok.Encode(p)), Is.EqualTo(p));
    }

    [TestCaseSource(nameof(NonAscii))]
    public void Round_trips_non_ascii(string text) => Assert.That(Tok.Decode(Tok.Encode(text)), Is.EqualTo(text));

    [Test]
    public void Token_bytes_agree_with_the_library_decode()
    {
        // Our id→bytes table is read from the package's data file; wherever a lone token is valid
        // UTF-8 the library's own Decode must give the same text.
        var lib = TiktokenTokenizer.CreateForModel("gpt2");
        var strict = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true);
        int checkedIds = 0;
        for (int id = 0; id < Tok.VocabSize; id++)
        {
            string ours;
            try { ours = strict.GetString(Tok.GetTokenBytes(id)); }
            catch (System.Text.DecoderFallbackException) { continue; }
            Assert.That(lib.Decode([id]), Is.EqualTo(ours), $"id {id}");
            checkedIds++;
        }
        Assert.That(checkedIds, Is.GreaterThan(49000));
    }

    [TestCaseSource(nameof(NonAscii))]
    public void Streaming_decode_equals_whole_decode(string text)
    {
        int[] ids = Tok.Encode(text);
        ITokenDecoder dec = Tok.CreateStreamingDecoder();
        string[] pieces = ids.Select(dec.Append).ToArray();
        string streamed = string.Concat(pieces) + dec.Flush();
        Assert.That(streamed, Is.EqualTo(Tok.Decode(ids)));
        Assert.That(streamed, Is.EqualTo(text));
    }

    [Test]
    public void Streaming_holds_back_characters_split_across_tokens()
    {
        // Rare CJK characters and emoji are split into byte-level tokens that are not whole
        // characters on their own; the test proves the text has such a split before relying on it.
        const string text = "中文字符 😀👍🏽 龘";
        int[] ids = Tok.Encode(text);
        int partial = ids.Count(id => !IsValidUtf8(Tok.GetTokenBytes(id)));
        Assert.That(partial, Is.GreaterThan(0), "expected some tokens that are partial UTF-8 characters");

        ITokenDecoder dec = Tok.CreateStreamingDecoder();
        var pieces = ids.Select(dec.Append).ToList();
        Assert.That(pieces, Has.Some.Empty, "some token completed no character and must have returned nothing");
        Assert.That(pieces.SelectMany(p => p), Has.None.EqualTo('\uFFFD'));
        Assert.That(string.Concat(pieces) + dec.Flush(), Is.EqualTo(text));
    }

    [Test]
    public void Chunked_encoding_of_long_texts_equals_the_library_on_the_whole_text()
    {
        // Moby-Dick (1.2 MB) is long enough to be cut into parallel chunks; the cuts must not change a single id.
        string text = File.ReadAllText(Corpora.Require("moby-dick.txt"));
        var lib = TiktokenTokenizer.CreateForModel("gpt2");
        Assert.That(Tok.Encode(text), Is.EqualTo(lib.EncodeToIds(text).ToArray()));
    }

    [Test]
    public void Chunked_encoding_survives_awkward_whitespace()
    {
        // Runs of spaces, blank lines, CRLF, tabs and digits after whitespace at every offset around the cut points.
        string[] parts = ["word", " ", "  ", "\n", "\n\n", "\n\n\n", "\r\n", "\t", " 42", "x's", "'ll", "!?", "é", "中", "😀", "<|endoftext|>"];
        var rng = new Hyper.Runtime.Rng(7);
        var sb = new System.Text.StringBuilder();
        while (sb.Length < 600_000) sb.Append(parts[rng.NextInt(parts.Length)]);
        string text = sb.ToString();
        var lib = TiktokenTokenizer.CreateForModel("gpt2");
        Assert.That(Tok.Encode(text), Is.EqualTo(lib.EncodeToIds(text).ToArray()));
    }

    private static bool IsValidUtf8(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}
