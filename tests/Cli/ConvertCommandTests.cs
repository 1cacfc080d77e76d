using System.Buffers.Binary;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper convert` between checkpoint folders and llm.c's .bin, end to end.</summary>
[NonParallelizable]
public class ConvertCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();

    private static float[] Weights(string dir) => Checkpoint.ReadWeights(dir, Checkpoint.ReadConfig(dir), out _);

    private static void Convert(string from, string to, params string[] extra)
    {
        var (code, _, err) = CliRunner.Run(["convert", "--in", from, "--out", to, .. extra]);
        Assert.That(code, Is.EqualTo(0), err);
    }

    /// <summary>A checkpoint of our own with GPT-2's initialisation and the given vocabulary.</summary>
    private string OwnCheckpoint(string name, int vocab)
    {
        string dir = Path.Combine(_dir, name);
        using var backend = new CpuBackend();
        using var model = new Gpt2(Gpt2Config.Tiny with { VocabSize = vocab }, backend);
        model.InitializeWeights(21);
        // InitializeWeights leaves biases at 0 and gains at 1; draw them too so every tensor's
        // placement in the .bin is visible in the comparison.
        var w = model.ReadParameters();
        var rng = new Random(8);
        for (int i = 0; i < w.Length; i++) w[i] += (float)(rng.NextDouble() - 0.5) * 0.01f;
        model.LoadParameters(w);
        Checkpoint.Save(dir, model, new TrainingState { Tokenizer = vocab == 256 ? "byte" : "gpt2" }, withOptimizer: false);
        return dir;
    }

    private static int[] Header(string bin)
    {
        var bytes = File.ReadAllBytes(bin);
        return Enumerable.Range(0, 256).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * i))).ToArray();
    }

    [Test]
    public void FolderToV3AndBackIsBitIdentical()
    {
        string src = OwnCheckpoint("src", 256), bin = Path.Combine(_dir, "model.bin"), back = Path.Combine(_dir, "back");
        Convert(src, bin);
        Convert(bin, back);
        Assert.That(Bits(Weights(back)), Is.EqualTo(Bits(Weights(src))));
        // Both folders are ours, written from the same weights at step 0: the same bytes.
        foreach (string f in new[] { Checkpoint.ConfigFile, Checkpoint.ModelFile })
            Assert.That(File.ReadAllBytes(Path.Combine(back, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(src, f))), f);
        Assert.That(Checkpoint.ReadState(back, Checkpoint.ReadConfig(back)).Tokenizer, Is.EqualTo("byte"));
    }

    [Test]
    public void HuggingFaceFolderToV3AndBackIsBitIdentical()
    {
        // The prefixed F32 fixture with its tied lm_head and mask buffers.
        string src = Fixtures.Path("hf_tiny"), bin = Path.Combine(_dir, "hf.bin"), back = Path.Combine(_dir, "back");
        Convert(src, bin);
        Convert(bin, back);
        Assert.That(Bits(Weights(back)), Is.EqualTo(Bits(Weights(src))));
    }

    [Test]
    public void V5StoresBFloat16RoundedToNearestEven()
    {
        string bin = Path.Combine(_dir, "hf5.bin"), back = Path.Combine(_dir, "back");
        Convert(Fixtures.Path("hf_tiny"), bin, "--llmc-version", "5");
        Assert.That(Header(bin)[1], Is.EqualTo(5));
        Convert(bin, back);
        var original = Weights(Fixtures.Path("hf_tiny"));
        var rounded = Weights(back);
        // bfloat16 keeps 8 significant bits: round to nearest moves a value by at most half an
        // ulp, 2^-8 of its magnitude.
        for (int i = 0; i < original.Length; i++)
        {
            if (Math.Abs(rounded[i] - original[i]) > Math.Abs(original[i]) * Math.Pow(2, -8))
                Assert.Fail($"weight {i}: {original[i]:R} became {rounded[i]:R}, more than bf16 rounding");
        }
        Assert.That(rounded.Zip(original).Count(p => p.First != p.Second), Is.GreaterThan(original.Length / 2), "the values were rounded, not stored in full");
        // And exactly what PyTorch's .to(torch.bfloat16) made of the same weights (the BF16 fixture).
        Assert.That(Bits(rounded), Is.EqualTo(Bits(Weights(Fixtures.Path("hf_tiny_bf16")))));
    }

    [Test]
    public void BFloat16WeightsSurviveV5Exactly()
    {
        string bin = Path.Combine(_dir, "bf.bin"), back = Path.Combine(_dir, "back");
        Convert(Fixtures.Path("hf_tiny_bf16"), bin, "--llmc-version", "5");
        Convert(bin, back);
        Assert.That(Bits(Weights(back)), Is.EqualTo(Bits(Weights(Fixtures.Path("hf_tiny_bf16")))));
    }

    [TestCase("3")]
    [TestCase("5")]
    public void ALargeVocabularyRoundTripsAcrossReadChunks(string version)
    {
        // GPT-2's vocabulary (50257, padded to 50304): wte alone is 3.2M values, several of the
        // 1M-value chunks the .bin is streamed in, with the padding rows between two chunks' worth.
        string src = OwnCheckpoint("src", 50257), bin = Path.Combine(_dir, "model.bin"), back = Path.Combine(_dir, "back");
        Convert(src, bin, "--llmc-version", version);
        Convert(bin, back);
        var expected = Weights(src);
        if (version == "5") expected = expected.Select(x => BFloat16.ToSingle(BFloat16.FromSingle(x))).ToArray();
        Assert.That(Bits(Weights(back)), Is.EqualTo(Bits(expected)));
    }

    [TestCase(3, 4)]
    [TestCase(5, 2)]
    public void BinHasLlmcsHeaderAndPaddedVocabulary(int version, int width)
    {
        // Vocabulary 300 pads to 384, as llm.c pads 50257 to 50304.
        const int V = 300, Vp = 384, C = 64;
        string src = OwnCheckpoint("src", V), bin = Path.Combine(_dir, "model.bin");
        Convert(src, bin, "--llmc-version", version.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var h = Header(bin);
        Assert.That(h[..8], Is.EqualTo(new[] { 20240326, version, 64, V, 2, 2, C, Vp }), "magic, version, maxT, V, L, NH, C, Vp");
        Assert.That(h[8..], Is.All.EqualTo(0), "the rest of the 256-int header is zero");
        Assert.That(h[7] % 128, Is.Zero);

        // The parameters follow in llm.c's order (our arena's), wte padded with zero rows to llm.c's
        // Vp; the arena's own padding (to a multiple of 64: 320 rows) is not what the file holds.
        var full = Weights(src);
        var wte = new ParameterLayout((Gpt2Config)Checkpoint.ReadConfig(src))["wte"];
        Assert.That(wte.Shape[0], Is.EqualTo(320), "the arena's padded vocabulary");
        var arena = full[..(int)wte.Stored].Concat(full[(int)wte.Count..]).ToArray();
        long total = arena.Length + (long)(Vp - V) * C;
        var bytes = File.ReadAllBytes(bin);
        Assert.That(bytes.LongLength, Is.EqualTo(1024 + total * width));
        float At(long k) => width == 4
            ? BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(1024 + 4 * k)))
            : BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan((int)(1024 + 2 * k))) << 16);
        float Stored(float x) => width == 4 ? x : BitConverter.Int32BitsToSingle((int)BFloat16.FromSingle(x) << 16);
        for (long k = 0, i = 0; k < total; k++)
        {
            bool padding = k >= (long)V * C && k < (long)Vp * C;
            float expected = padding ? 0f : Stored(arena[i++]);
            if (BitConverter.SingleToInt32Bits(At(k)) != BitConverter.SingleToInt32Bits(expected))
                Assert.Fail($"stored value {k} is {At(k):R}, expected {expected:R}{(padding ? " (padding row)" : "")}");
        }

        // Back to a folder: the padding rows are dropped again.
        string back = Path.Combine(_dir, "back");
        Convert(bin, back);
        Assert.That(Checkpoint.ReadConfig(back), Is.EqualTo(Checkpoint.ReadConfig(src)));
        Assert.That(Bits(Weights(back)), Is.EqualTo(Bits(full.Select(Stored).ToArray())));
    }
}
