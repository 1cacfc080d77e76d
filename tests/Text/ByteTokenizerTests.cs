using Hyper.Runtime.Text;
using Hyper.Tests.Data;

namespace Hyper.Tests.Text;

public class ByteTokenizerTests
{
    private static readonly string[] NonAscii = ["café", "中文字符", "emoji 😀👍🏽 end", "mixed é中😀 text\n"];

    [Test]
    public void Describes_itself()
    {
        ITokenizer tok = Tokenizers.Create("byte");
        Assert.That(tok.Name, Is.EqualTo("byte"));
        Assert.That(tok.VocabSize, Is.EqualTo(256));
        Assert.That(tok.EndOfText, Is.Null);
    }

    [Test]
    public void Ids_are_utf8_bytes()
    {
        var tok = new ByteTokenizer();
        Assert.That(tok.Encode("Aé"), Is.EqualTo(new[] { 0x41, 0xC3, 0xA9 }));
    }

    [Test]
    public void Round_trips_moby_dick_paragraphs()
    {
        var tok = new ByteTokenizer();
        foreach (string p in Corpora.Paragraphs("moby-dick.txt", 300))
            Assert.That(tok.Decode(tok.Encode(p)), Is.EqualTo(p));
    }

    [TestCaseSource(nameof(NonAscii))]
    public void Round_trips_non_ascii(string text)
    {
        var tok = new ByteTokenizer();
        Assert.That(tok.Decode(tok.Encode(text)), Is.EqualTo(text));
    }

    [TestCaseSource(nameof(NonAscii))]
    public void Streaming_decode_equals_whole_decode(string text)
    {
        var tok = new ByteTokenizer();
        int[] ids = tok.Encode(text);
        ITokenDecoder dec = tok.CreateStreamingDecoder();
        string streamed = string.Concat(ids.Select(dec.Append)) + dec.Flush();
        Assert.That(streamed, Is.EqualTo(tok.Decode(ids)));
        Assert.That(streamed, Is.EqualTo(text));
    }

    [Test]
    public void Streaming_holds_back_an_unfinished_character()
    {
        var tok = new ByteTokenizer();
        ITokenDecoder dec = tok.CreateStreamingDecoder();
        Assert.That(dec.Append(0xF0), Is.Empty);   // 😀 = F0 9F 98 80
        Assert.That(dec.Append(0x9F), Is.Empty);
        Assert.That(dec.Append(0x98), Is.Empty);
        Assert.That(dec.Append(0x80), Is.EqualTo("😀"));
        Assert.That(dec.Append('a'), Is.EqualTo("a"));
    }

    [Test]
    public void Flush_of_an_unfinished_character_matches_whole_decode()
    {
        var tok = new ByteTokenizer();
        int[] ids = [0x61, 0xE4, 0xB8]; // 'a' then two of the three bytes of 中
        ITokenDecoder dec = tok.CreateStreamingDecoder();
        string streamed = string.Concat(ids.Select(dec.Append)) + dec.Flush();
        Assert.That(streamed, Is.EqualTo(tok.Decode(ids)));
        Assert.That(streamed, Does.StartWith("a\uFFFD"));
    }

    [Test]
    public void Invalid_bytes_stream_like_whole_decode()
    {
        var tok = new ByteTokenizer();
        int[] ids = [0x61, 0xC3, 0x28, 0xFF, 0x80, 0xE4, 0xB8, 0xAD, 0x62];
        ITokenDecoder dec = tok.CreateStreamingDecoder();
        Assert.That(string.Concat(ids.Select(dec.Append)) + dec.Flush(), Is.EqualTo(tok.Decode(ids)));
    }

    [Test]
    public void Rejects_ids_outside_the_vocabulary()
    {
        var tok = new ByteTokenizer();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([65, 256]));
        Assert.That(e!.Message, Does.Contain("256"));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.CreateStreamingDecoder().Append(-1));
    }

    [Test]
    public void Unknown_name_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => Tokenizers.Create("sentencepiece"));
        Assert.That(e!.Message, Does.Contain("sentencepiece").And.Contain("byte").And.Contain("gpt2"));
    }
}
