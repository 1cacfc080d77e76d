using System.Buffers.Binary;
using System.Text;
using Hyper.Runtime.IO;
using Hyper.Tests.Support;

namespace Hyper.Tests.IO;

public class SafeTensorsTests
{
    string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "hyper-safetensors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    static string FixturePath => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "gpt2_tiny.safetensors");

    /// <summary>A file from a raw header string and data bytes, for inputs the writer cannot produce.</summary>
    string RawFile(string header, byte[] data, ulong? headerLength = null)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".safetensors");
        byte[] h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] UInt16s(params ushort[] values)
    {
        var b = new byte[2 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2 * i), values[i]);
        return b;
    }

    [Test]
    public void RoundTripKeepsNamesShapesBitsAndMetadata()
    {
        string path = Path.Combine(_dir, "a.safetensors");
        // Bit patterns a lossy path would change: NaN, -0, a subnormal, the extremes.
        float[] odd = [float.NaN, -0f, float.Epsilon, float.MaxValue, float.NegativeInfinity, 1f / 3];
        float[] matrix = Check.Random(3 * 5, seed: 1);
        var meta = new Dictionary<string, string> { ["n_layer"] = "2", ["note"] = "ünïcode ok" };
        SafeTensors.Write(path, [("z.matrix", [3, 5], matrix), ("a.odd", [6], odd), ("m.scalar", [], [42f]), ("e.empty", [0, 4], [])], meta);

        using var st = SafeTensors.Open(path);
        Assert.That(st.Names, Is.EqualTo(new[] { "a.odd", "e.empty", "m.scalar", "z.matrix" }));
        Assert.That(st.Info("z.matrix").Shape, Is.EqualTo(new[] { 3, 5 }));
        Assert.That(st.Info("z.matrix").DType, Is.EqualTo("F32"));
        Assert.That(st.Info("m.scalar").Shape, Is.Empty);
        Assert.That(st.Info("e.empty").Count, Is.EqualTo(0));
        Assert.That(st.Metadata, Is.EqualTo(meta));
        Assert.That(Bits(st.ReadFloats("a.odd")), Is.EqualTo(Bits(odd)));
        Assert.That(Bits(st.ReadFloats("z.matrix")), Is.EqualTo(Bits(matrix)));
        Assert.That(st.ReadFloats("m.scalar"), Is.EqualTo(new[] { 42f }));
        Assert.That(st.ReadFloats("e.empty"), Is.Empty);

        var into = new float[15];
        st.ReadFloats("z.matrix", into);
        Assert.That(Bits(into), Is.EqualTo(Bits(matrix)));
        Assert.Throws<ArgumentException>(() => st.ReadFloats("z.matrix", new float[14]));
    }

    [Test]
    public void WriteAlignsDataAndReplacesAtomically()
    {
        string path = Path.Combine(_dir, "b.safetensors");
        SafeTensors.Write(path, [("x", [2], [1f, 2f])], new Dictionary<string, string> { ["v"] = "1" });
        SafeTensors.Write(path, [("y", [3], [3f, 4f, 5f])]);

        using (var st = SafeTensors.Open(path))
        {
            Assert.That(st.Names, Is.EqualTo(new[] { "y" }));
            Assert.That(st.Metadata, Is.Empty);
            Assert.That(st.ReadFloats("y"), Is.EqualTo(new[] { 3f, 4f, 5f }));
        }
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path));
        Assert.That((8 + headerLength) % 8, Is.EqualTo(0), "data section starts 8-byte aligned");
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "no temporary file left behind");
    }

    [Test]
    public void WriteRejectsBadInput()
    {
        string path = Path.Combine(_dir, "c.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", [2, 3], new float[5])]));
        Assert.That(e!.Message, Does.Contain("'w'").And.Contain("6 elements"));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("w", [1], [1f]), ("w", [1], [2f])]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, [("__metadata__", [1], [1f])]));
        Assert.That(File.Exists(path), Is.False);
        Assert.That(Directory.GetFiles(_dir), Is.Empty);
    }

    [Test]
    public void ReadsTheGpt2Fixture()
    {
        using var st = SafeTensors.Open(FixturePath);
        int L = int.Parse(st.Metadata["n_layer"]), C = int.Parse(st.Metadata["n_embd"]);
        int V = int.Parse(st.Metadata["vocab_size"]), maxT = int.Parse(st.Metadata["n_positions"]);
        int B = int.Parse(st.Metadata["batch"]), T = int.Parse(st.Metadata["seq"]);
        Assert.That((L, C, V, maxT, B, T), Is.EqualTo((2, 64, 256, 64, 4, 64)));

        // Hugging Face names; matmul weights in Conv1D layout [in, out].
        var expected = new Dictionary<string, int[]> { ["wte.weight"] = [V, C], ["wpe.weight"] = [maxT, C], ["ln_f.weight"] = [C], ["ln_f.bias"] = [C] };
        for (int l = 0; l < L; l++)
        {
            string h = $"h.{l}.";
            expected[h + "ln_1.weight"] = [C];
            expected[h + "ln_1.bias"] = [C];
            expected[h + "attn.c_attn.weight"] = [C, 3 * C];
            expected[h + "attn.c_attn.bias"] = [3 * C];
            expected[h + "attn.c_proj.weight"] = [C, C];
            expected[h + "attn.c_proj.bias"] = [C];
            expected[h + "ln_2.weight"] = [C];
            expected[h + "ln_2.bias"] = [C];
            expected[h + "mlp.c_fc.weight"] = [C, 4 * C];
            expected[h + "mlp.c_fc.bias"] = [4 * C];
            expected[h + "mlp.c_proj.weight"] = [4 * C, C];
            expected[h + "mlp.c_proj.bias"] = [C];
        }
        foreach (var (name, shape) in expected)
        {
            Assert.That(st.Info(name).Shape, Is.EqualTo(shape), name);
            Assert.That(st.Info("grad." + name).Shape, Is.EqualTo(shape), "grad." + name);
        }
        Assert.That(st.Info("logits").Shape, Is.EqualTo(new[] { B, T, V }));
        Assert.That(st.Names, Has.Count.EqualTo(2 * expected.Count + 6)); // + x, y, logits, loss, losses, grad_norms

        int[] x = st.ReadInts("x"), y = st.ReadInts("y");
        Assert.That(x, Has.Length.EqualTo(B * T));
        Assert.That(x.Concat(y), Has.All.InRange(0, V - 1));
        // Consecutive windows of one text: each target is the next input.
        Assert.That(y.AsSpan(0, T - 1).ToArray(), Is.EqualTo(x.AsSpan(1, T - 1).ToArray()));

        float loss = st.ReadFloats("loss")[0];
        float[] losses = st.ReadFloats("losses");
        Assert.That(losses, Has.Length.EqualTo(10));
        Assert.That(losses[0], Is.EqualTo(loss));
        Assert.That(loss, Is.EqualTo(MathF.Log(V)).Within(0.1f), "small random weights give about ln V");
        Assert.That(losses[9], Is.LessThan(losses[0]));
    }

    [Test]
    public void WidensHalfAndBFloat16Exactly()
    {
        // F16: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal), +inf, NaN.
        byte[] f16 = UInt16s(0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00, 0x7E00);
        // BF16: 1, -2, 3.140625, 2^-133 (smallest subnormal), -inf, -0.
        byte[] bf16 = UInt16s(0x3F80, 0xC000, 0x4049, 0x0001, 0xFF80, 0x8000);
        string path = RawFile(
            """{"h":{"dtype":"F16","shape":[7],"data_offsets":[0,14]},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[14,26]}}""",
            [.. f16, .. bf16]);

        using var st = SafeTensors.Open(path);
        float[] h = st.ReadFloats("h");
        Assert.That(h[..6], Is.EqualTo(new[] { 1f, -2f, 0.5f, 65504f, MathF.Pow(2, -24), float.PositiveInfinity }));
        Assert.That(float.IsNaN(h[6]));
        float[] b = st.ReadFloats("b");
        Assert.That(Bits(b), Is.EqualTo(Bits([1f, -2f, 3.140625f, MathF.Pow(2, -133), float.NegativeInfinity, -0f])));
    }

    [Test]
    public void ReadsI32AndI64AsInts()
    {
        byte[] data = new byte[8 + 24];
        BinaryPrimitives.WriteInt32LittleEndian(data, -7);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), int.MaxValue);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 50256);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(16), int.MinValue);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(24), 1L << 40);
        string path = RawFile(
            """{"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"l":{"dtype":"I64","shape":[2],"data_offsets":[8,24]},"big":{"dtype":"I64","shape":[1],"data_offsets":[24,32]}}""",
            data);

        using var st = SafeTensors.Open(path);
        Assert.That(st.ReadInts("i"), Is.EqualTo(new[] { -7, int.MaxValue }));
        Assert.That(st.ReadInts("l"), Is.EqualTo(new[] { 50256, int.MinValue }));
        var e = Assert.Throws<InvalidDataException>(() => st.ReadInts("big"));
        Assert.That(e!.Message, Does.Contain("'big'").And.Contain("range"));
        Assert.That(Assert.Throws<InvalidDataException>(() => st.ReadFloats("i"))!.Message, Does.Contain("I32"));
    }

    [Test]
    public void MissingTensorNamesTheFileAndTheTensor()
    {
        string path = Path.Combine(_dir, "m.safetensors");
        SafeTensors.Write(path, [("present", [1], [1f])]);
        using var st = SafeTensors.Open(path);
        Assert.That(st.Contains("present"), Is.True);
        Assert.That(st.Contains("absent"), Is.False);
        var e = Assert.Throws<KeyNotFoundException>(() => st.ReadFloats("absent"));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("'absent'").And.Contain("present"));
    }

    static readonly string Good = """{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";

    // Each malformed input, and a word its message must contain besides the file's path.
    static IEnumerable<TestCaseData> BadFiles()
    {
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, null, "JSON").SetName("BadJson");
        yield return new TestCaseData("[1,2]", 0, null, "not an object").SetName("HeaderNotObject");
        yield return new TestCaseData(Good, 8, 1000UL, "exceeds").SetName("HeaderLengthPastEnd");
        yield return new TestCaseData(Good, 4, null, "outside").SetName("OffsetsPastEnd");
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, null, "outside").SetName("OffsetsReversed");
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, null, "needs 12 bytes").SetName("OffsetsDisagreeWithShape");
        yield return new TestCaseData("""{"t":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,8]}}""", 8, null, "unknown dtype 'Q4_K'").SetName("UnknownDType");
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8, null, "shape").SetName("NegativeDimension");
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[2]}}""", 8, null, "data_offsets").SetName("MissingOffsets");
        yield return new TestCaseData("""{"__metadata__":{"n":2}}""", 0, null, "only strings").SetName("NonStringMetadata");
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, null, "twice").SetName("DuplicateName");
        // Found by ReaderFuzzTests: TryGetInt64 threw InvalidOperationException on a non-number.
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":["0",8]}}""", 8, null, "data_offsets").SetName("OffsetsNotNumbers");
        // Found by ReaderFuzzTests: 65536^4 wrapped to 0 elements in 64 bits, so an empty span passed as its size.
        yield return new TestCaseData("""{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[65536,65536,65536,65536],"data_offsets":[0,0]}}""", 8, null, "too large").SetName("ElementCountOverflows");
    }

    [TestCaseSource(nameof(BadFiles))]
    public void RejectsMalformedFile(string header, int dataBytes, ulong? headerLength, string problem)
    {
        string path = RawFile(header, new byte[dataBytes], headerLength);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Open(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain(problem));
    }

    // Found by ReaderFuzzTests: JsonDocument checks a string's UTF-8 only when it is read, and
    // then threw InvalidOperationException instead of naming the file.
    [Test]
    public void RejectsAHeaderThatIsNotUtf8()
    {
        string path = RawFile(Good, new byte[8]);
        var bytes = File.ReadAllBytes(path);
        bytes[8 + 2] = 0xFF; // inside the tensor's name "t"
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Open(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("UTF-8"));
    }

    [Test]
    public void RejectsFileShorterThanTheLengthField()
    {
        string path = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Open(path));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("shorter"));
    }

    static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();
}
