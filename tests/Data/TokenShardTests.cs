using System.Buffers.Binary;
using Hyper.Runtime.Data;

namespace Hyper.Tests.Data;

public class TokenShardTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(1025)]
    public void Round_trips(int count)
    {
        var rng = new Hyper.Runtime.Rng(1);
        int[] tokens = Enumerable.Range(0, count).Select(i => i switch { 0 => 0, 1 => 65535, _ => rng.NextInt(50257) }).ToArray();
        string path = PathOf("a.bin");
        TokenShard.Write(path, tokens);
        Assert.That(TokenShard.Read(path), Is.EqualTo(tokens));
        Assert.That(File.Exists(path + ".tmp"), Is.False);
    }

    [Test]
    public void Layout_is_llm_c()
    {
        string path = PathOf("a.bin");
        TokenShard.Write(path, [1, 258, 65535]);
        byte[] b = File.ReadAllBytes(path);
        Assert.That(b.Length, Is.EqualTo(1024 + 6));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(b), Is.EqualTo(20240520));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4)), Is.EqualTo(1));
        Assert.That(BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)), Is.EqualTo(3));
        Assert.That(b.AsSpan(12, 1012).ToArray(), Has.All.EqualTo((byte)0));
        Assert.That(b[1024..], Is.EqualTo(new byte[] { 1, 0, 2, 1, 255, 255 }));
    }

    [Test]
    public void Overwrites_an_existing_shard()
    {
        string path = PathOf("a.bin");
        TokenShard.Write(path, [1, 2, 3]);
        TokenShard.Write(path, [4]);
        Assert.That(TokenShard.Read(path), Is.EqualTo(new[] { 4 }));
    }

    [TestCase(65536)]
    [TestCase(-1)]
    public void Rejects_ids_that_do_not_fit_uint16(int bad)
    {
        string path = PathOf("a.bin");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TokenShard.Write(path, [1, bad]));
        Assert.That(e!.Message, Does.Contain(bad.ToString()).And.Contain("uint16").And.Contain(path));
        Assert.That(File.Exists(path), Is.False);
        Assert.That(File.Exists(path + ".tmp"), Is.False);
    }

    [Test]
    public void Wrong_magic()
    {
        string path = Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b, 12345));
        Expect(path, "magic 12345");
    }

    [Test]
    public void Wrong_version()
    {
        string path = Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 2));
        Expect(path, "version 2");
    }

    [Test]
    public void Truncated_header()
    {
        string path = PathOf("a.bin");
        TokenShard.Write(path, [1, 2, 3]);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..100]);
        Expect(path, "truncated");
    }

    [Test]
    public void Truncated_tokens()
    {
        string path = PathOf("a.bin");
        TokenShard.Write(path, [1, 2, 3]);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^1]);
        Expect(path, "truncated");
    }

    [Test]
    public void Count_mismatch()
    {
        string path = Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), 2));
        Expect(path, "count mismatch");
    }

    [Test]
    public void Missing_file()
    {
        string path = PathOf("none.bin");
        var e = Assert.Throws<FileNotFoundException>(() => TokenShard.Read(path));
        Assert.That(e!.Message, Does.Contain(path));
    }

    private string Damaged(Action<byte[]> damage)
    {
        string path = PathOf("a.bin");
        TokenShard.Write(path, [1, 2, 3]);
        byte[] b = File.ReadAllBytes(path);
        damage(b);
        File.WriteAllBytes(path, b);
        return path;
    }

    private static void Expect(string path, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => TokenShard.Read(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain(problem));
    }
}
