using Hyper.Runtime.Backends;
using Hyper.Tests.Support;

namespace Hyper.Tests.Backends;

/// <summary>
/// The op suite, generic over backends: every backend in <see cref="BackendRegistry"/> (except the
/// reference itself) runs every case of <see cref="OpCases"/> and the buffer operations, and is
/// compared with <see cref="ReferenceBackend"/> (with each kernel variant of an <see cref="IKernelVariants"/>
/// backend). A backend added to the registry is picked up with
/// no edit here. An op a backend does not support is reported as ignored with its name, never
/// passed; a backend this machine cannot create (no device, no driver) is ignored with the reason.
/// </summary>
public sealed class OpSuiteTests
{
    // Device backends are costly to create (context, program builds), so each is created once
    // for the whole fixture, on first use, and disposed at the end.
    private readonly BackendCache _backends = new();
    private readonly ReferenceBackend _reference = new();

    /// <summary>Every registered backend but the reference.</summary>
    private static IEnumerable<string> BackendNames =>
        BackendRegistry.All.Select(e => e.Name).Where(n => n != "reference");

    private static IEnumerable<TestCaseData> OpCasesByBackend() =>
        from backend in BackendNames
        from c in OpCases.All
        select new TestCaseData(backend, c.Name).SetName($"{backend}: {c.Name}");

    private static IEnumerable<TestCaseData> Backends() =>
        BackendNames.Select(b => new TestCaseData(b).SetArgDisplayNames(b));

    private static readonly int[] Lengths = [1, 7, 33, 1025, 100_003];

    private static IEnumerable<TestCaseData> BackendsAndLengths() =>
        from backend in BackendNames
        from n in Lengths
        select new TestCaseData(backend, n).SetArgDisplayNames(backend, $"N={n}");

    /// <summary>The backend under test, or an ignored test with the reason it cannot be created here.</summary>
    private IBackend Get(string name) => _backends.Get(name);

    [OneTimeTearDown]
    public void DisposeBackends()
    {
        _backends.Dispose();
        _reference.Dispose();
    }

    [TestCaseSource(nameof(OpCasesByBackend))]
    public void OpMatchesReference(string backendName, string caseName)
    {
        IBackend backend = Get(backendName);
        OpCase c = OpCases.All.Single(x => x.Name == caseName);
        if (!backend.Supports(c.Op)) Assert.Ignore($"{backendName} does not support {c.Op}");

        var expected = Run(_reference, c);
        // A backend with several kernels for the op (the kernel lab's variants) is checked with each.
        var variants = backend as IKernelVariants;
        string[] names = variants?.VariantsOf(c.Op).ToArray() ?? [];
        if (names.Length == 0)
        {
            Compare(backendName, c, Run(backend, c), expected);
            return;
        }
        string original = variants!.VariantOf(c.Op);
        try
        {
            foreach (string variant in names)
            {
                variants.UseVariant(c.Op, variant);
                Compare($"{backendName} ({variant})", c, Run(backend, c), expected);
            }
        }
        finally { variants.UseVariant(c.Op, original); }
    }

    private static void Compare(string who, OpCase c, (string Name, float[] Data)[] actual, (string Name, float[] Data)[] expected)
    {
        Assert.That(actual.Select(a => a.Name), Is.EqualTo(expected.Select(e => e.Name)));
        for (int i = 0; i < expected.Length; i++)
            AssertClose($"{who} {c.Name}: {expected[i].Name}", actual[i].Data, expected[i].Data, c.Tolerance);
    }

    private static (string Name, float[] Data)[] Run(IBackend backend, OpCase c)
    {
        using var harness = new OpHarness(backend);
        var outputs = c.Run(harness).Select(o => (o.Name, harness.Read(o.View))).ToArray();
        harness.CheckGuards();
        return outputs;
    }

    /// <summary>Asserts max|a − b| / max(1, max|expected|) ≤ tolerance, and NaN where (and only where) expected has NaN.</summary>
    private static void AssertClose(string what, float[] actual, float[] expected, double tolerance)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        double scale = 1, worst = 0;
        int worstAt = -1;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < actual.Length; i++)
        {
            if (float.IsNaN(actual[i]) != float.IsNaN(expected[i]))
                Assert.Fail($"{what}: NaN mismatch at {i} (actual {actual[i]}, expected {expected[i]})");
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (d > worst) { worst = d; worstAt = i; }
        }
        TestContext.Out.WriteLine($"{what}: normalised error {worst / scale:E2} (tolerance {tolerance:E1})");
        Assert.That(worst / scale, Is.LessThanOrEqualTo(tolerance),
            $"{what}: error {worst:E3} at {worstAt} is {worst / scale:E3} of scale {scale:E3}, over {tolerance:E1}");
    }

    // Exact checks by hand: NUnit's collection constraints take seconds on 100 000 floats.
    private static void AssertEqual(string what, float[] actual, float[] expected)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        for (int i = 0; i < actual.Length; i++)
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                Assert.Fail($"{what}: {actual[i]} at {i}, expected {expected[i]}");
    }

    private static void AssertZero(string what, float[] actual)
    {
        int at = Array.FindIndex(actual, x => x != 0);
        if (at >= 0) Assert.Fail($"{what}: {actual[at]} at {at}, expected 0");
    }

    [TestCaseSource(nameof(Backends))]
    public void AllocateZeroFills(string backendName)
    {
        IBackend backend = Get(backendName);
        using DeviceBuffer buffer = backend.Allocate(1025);
        Assert.That(buffer.Length, Is.EqualTo(1025));
        var host = Check.Random(1025, 1, 100f);
        backend.Download(buffer.All, host);
        AssertZero("allocation", host);
    }

    [TestCaseSource(nameof(BackendsAndLengths))]
    public void UploadDownloadRoundTripsAtAnOffset(string backendName, int n)
    {
        IBackend backend = Get(backendName);
        using DeviceBuffer buffer = backend.Allocate(n + 12);
        float[] data = Check.Random(n, 2);
        backend.Upload(data, buffer.Slice(5, n));
        var back = new float[n];
        backend.Download(buffer.Slice(5, n), back);
        AssertEqual("round trip", back, data);
        var all = new float[n + 12];
        backend.Download(buffer.All, all);
        AssertZero("outside the uploaded view", [.. all[..5], .. all[(n + 5)..]]);
    }

    [TestCaseSource(nameof(BackendsAndLengths))]
    public void ZeroClearsOnlyItsView(string backendName, int n)
    {
        IBackend backend = Get(backendName);
        using DeviceBuffer buffer = backend.Allocate(n + 8);
        float[] data = Check.Random(n + 8, 3, 5f);
        backend.Upload(data, buffer.All);
        backend.Zero(buffer.Slice(3, n));
        var all = new float[n + 8];
        backend.Download(buffer.All, all);
        AssertZero("zeroed view", all[3..(n + 3)]);
        AssertEqual("outside the zeroed view", [.. all[..3], .. all[(n + 3)..]], [.. data[..3], .. data[(n + 3)..]]);
    }

    [TestCaseSource(nameof(BackendsAndLengths))]
    public void CopyMovesViewsBetweenAndWithinBuffers(string backendName, int n)
    {
        IBackend backend = Get(backendName);
        using DeviceBuffer a = backend.Allocate(n + 4), b = backend.Allocate(2 * n + 9);
        float[] data = Check.Random(n, 4);
        backend.Upload(data, a.Slice(1, n));
        backend.Copy(a.Slice(1, n), b.Slice(7, n));            // between buffers, to another offset
        backend.Copy(b.Slice(7, n), b.Slice(n + 8, n));        // within one buffer, no overlap
        var back = new float[2 * n + 9];
        backend.Download(b.All, back);
        AssertEqual("copy between buffers", back[7..(n + 7)], data);
        AssertEqual("copy within a buffer", back[(n + 8)..(2 * n + 8)], data);
        AssertZero("outside the copies", [.. back[..7], back[n + 7], back[^1]]);
    }

    [TestCaseSource(nameof(BackendsAndLengths))]
    public void SumOfSquaresMatchesReference(string backendName, int n)
    {
        IBackend backend = Get(backendName);
        using DeviceBuffer buffer = backend.Allocate(n + 6);
        float[] data = Check.Random(n + 6, 5, 3f);
        backend.Upload(data, buffer.All);
        double actual = backend.SumOfSquares(buffer.Slice(2, n));

        using DeviceBuffer host = _reference.Allocate(n + 6);
        _reference.Upload(data, host.All);
        double expected = _reference.SumOfSquares(host.Slice(2, n));
        // A device may sum squares in float inside each partial sum before widening, so it differs
        // from the all-double reference by ~√(terms per partial)·ε ≈ 1e-6 relative; 1e-5 allows
        // that, while the short lengths, where one term is ≥ 1e-3 of the sum, catch a lost tail.
        Assert.That(Math.Abs(actual - expected), Is.LessThanOrEqualTo(1e-5 * expected), $"sum of squares {actual} vs {expected}");
    }
}
