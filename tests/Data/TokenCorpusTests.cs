using System.Diagnostics;
using Hyper.Runtime.Data;
using Hyper.Runtime.Text;

namespace Hyper.Tests.Data;

public class TokenCorpusTests
{
    private string _dir = "";
    private string _cache = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Corpora.TempDir();
        _cache = Path.Combine(_dir, "cache");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Text(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Test]
    public void Text_is_tokenized_once_then_read_from_the_cache()
    {
        string path = Text("a.txt", "héllo wörld");
        var tok = new CountingTokenizer(new ByteTokenizer());
        int[] first = TokenCorpus.Load(path, tok, _cache);
        Assert.That(first, Is.EqualTo(new ByteTokenizer().Encode("héllo wörld")));
        Assert.That(tok.EncodeCalls, Is.EqualTo(1));

        string cacheFile = TokenCorpus.CachePath(path, tok, _cache);
        Assert.That(File.Exists(cacheFile), Is.True);
        Assert.That(Path.GetDirectoryName(cacheFile), Is.EqualTo(_cache));

        int[] second = TokenCorpus.Load(path, tok, _cache);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(tok.EncodeCalls, Is.EqualTo(1), "second load re-tokenized instead of reading the cache");
    }

    [Test]
    public void An_edited_file_is_tokenized_again()
    {
        string path = Text("a.txt", "one");
        var tok = new CountingTokenizer(new ByteTokenizer());
        TokenCorpus.Load(path, tok, _cache);
        File.WriteAllText(path, "two!");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.That(TokenCorpus.Load(path, tok, _cache), Is.EqualTo(new ByteTokenizer().Encode("two!")));
        Assert.That(tok.EncodeCalls, Is.EqualTo(2));
    }

    [Test]
    public void Cache_is_keyed_by_tokenizer()
    {
        string path = Text("a.txt", "Hello world");
        Assert.That(TokenCorpus.CachePath(path, new ByteTokenizer(), _cache),
            Is.Not.EqualTo(TokenCorpus.CachePath(path, Gpt2Tokenizer.Shared, _cache)));
        Assert.That(TokenCorpus.Load(path, new ByteTokenizer(), _cache), Has.Length.EqualTo(11));
        Assert.That(TokenCorpus.Load(path, Gpt2Tokenizer.Shared, _cache), Is.EqualTo(new[] { 15496, 995 }));
    }

    [Test]
    public void A_damaged_cache_entry_is_rebuilt()
    {
        string path = Text("a.txt", "abc");
        var tok = new CountingTokenizer(new ByteTokenizer());
        TokenCorpus.Load(path, tok, _cache);
        File.WriteAllBytes(TokenCorpus.CachePath(path, tok, _cache), [1, 2, 3]);
        Assert.That(TokenCorpus.Load(path, tok, _cache), Is.EqualTo(new[] { 97, 98, 99 }));
        Assert.That(tok.EncodeCalls, Is.EqualTo(2));
        Assert.That(TokenShard.Read(TokenCorpus.CachePath(path, tok, _cache)), Is.EqualTo(new[] { 97, 98, 99 }));
    }

    [Test]
    public void A_shard_is_read_by_its_magic_whatever_its_extension()
    {
        string path = Path.Combine(_dir, "tokens.dat");
        TokenShard.Write(path, [5, 6, 7]);
        var tok = new CountingTokenizer(new ByteTokenizer());
        Assert.That(TokenCorpus.Load(path, tok, _cache), Is.EqualTo(new[] { 5, 6, 7 }));
        Assert.That(tok.EncodeCalls, Is.Zero);
        Assert.That(Directory.Exists(_cache), Is.False, "a shard needs no cache");
    }

    [Test]
    public void A_bin_file_without_the_magic_is_an_error()
    {
        string path = Text("tokens.bin", "just some text");
        var e = Assert.Throws<InvalidDataException>(() => TokenCorpus.Load(path, new ByteTokenizer(), _cache));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("magic"));
    }

    [Test]
    public void Shard_ids_must_fit_the_tokenizer()
    {
        string path = Path.Combine(_dir, "gpt2.bin");
        TokenShard.Write(path, [15496, 995]);
        var e = Assert.Throws<InvalidDataException>(() => TokenCorpus.Load(path, new ByteTokenizer(), _cache));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("15496").And.Contain("byte"));
        Assert.That(TokenCorpus.Load(path, Gpt2Tokenizer.Shared, _cache), Is.EqualTo(new[] { 15496, 995 }));
    }

    [Test]
    public void Missing_file()
    {
        string path = Path.Combine(_dir, "nothing.txt");
        var e = Assert.Throws<FileNotFoundException>(() => TokenCorpus.Load(path, new ByteTokenizer(), _cache));
        Assert.That(e!.Message, Does.Contain(path));
    }

    [Test]
    public void Empty_text_and_empty_shard()
    {
        string text = Text("empty.txt", "");
        var e = Assert.Throws<InvalidDataException>(() => TokenCorpus.Load(text, new ByteTokenizer(), _cache));
        Assert.That(e!.Message, Does.Contain(text).And.Contain("is empty"));

        string shard = Path.Combine(_dir, "empty.bin");
        TokenShard.Write(shard, []);
        e = Assert.Throws<InvalidDataException>(() => TokenCorpus.Load(shard, new ByteTokenizer(), _cache));
        Assert.That(e!.Message, Does.Contain(shard).And.Contain("is empty"));
    }

    [Test]
    public void Invalid_utf8_is_an_error()
    {
        string path = Path.Combine(_dir, "bad.txt");
        File.WriteAllBytes(path, [0x61, 0xFF, 0x62]);
        var e = Assert.Throws<InvalidDataException>(() => TokenCorpus.Load(path, new ByteTokenizer(), _cache));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("UTF-8"));
    }

    [Test]
    public void State_of_the_union_with_gpt2_timing()
    {
        string path = Corpora.Require("state-of-the-union.txt");
        _ = Gpt2Tokenizer.Shared; // load the vocabulary outside the timing
        var tok = new CountingTokenizer(Gpt2Tokenizer.Shared);

        // CPU time beside wall time: on a shared machine the wall time mostly measures the other load.
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        int[] first = TokenCorpus.Load(path, tok, _cache);
        double cold = sw.Elapsed.TotalSeconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        sw.Restart();
        int[] second = TokenCorpus.Load(path, tok, _cache);
        double warm = sw.Elapsed.TotalSeconds;

        double mb = new FileInfo(path).Length / 1e6;
        TestContext.Out.WriteLine(
            $"state-of-the-union ({mb:F1} MB, {first.Length} gpt2 tokens): tokenize+cache {cold:F2} s wall ({mb / cold:F1} MB/s), {cpu:F2} s CPU on {Environment.ProcessorCount} cores; cached load {warm:F3} s");
        Assert.That(second, Is.EqualTo(first));
        Assert.That(tok.EncodeCalls, Is.EqualTo(1));
    }
}
