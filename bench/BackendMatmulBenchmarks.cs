using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Hyper.Runtime.Backends;

namespace Hyper.Bench;

/// <summary>
/// The matmul variants of a device backend (through <see cref="IKernelVariants"/>), forward at the
/// benchmark model's attention projection, N = 512 rows, C = 384 → OC = 1152 (0.45 GFLOP). Each
/// call ends with a one-float download, which waits for the queued kernel. A short job. Pick the
/// backend with the HYPER_BENCH_BACKEND environment variable (default opencl).
/// </summary>
[Config(typeof(Config))]
public class BackendMatmulBenchmarks
{
    private const int N = 512, C = 384, OC = 1152;
    private IBackend _backend = null!;
    private DeviceBuffer _inp = null!, _weight = null!, _bias = null!, _out = null!;
    private readonly float[] _one = new float[1];

    /// <summary>Current variant (the names <see cref="IKernelVariants.VariantsOf"/> lists for the OpenCL backend).</summary>
    [Params("naive", "tiled", "blocked")]
    public string Variant { get; set; } = "";

    /// <summary>Creates the backend, uploads seeded inputs and selects the variant.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BackendRegistry.Create(Environment.GetEnvironmentVariable("HYPER_BENCH_BACKEND") ?? "opencl");
        ((IKernelVariants)_backend).UseVariant(Op.Matmul, Variant);
        var rng = new Random(1234);
        DeviceBuffer Put(int n)
        {
            var host = new float[n];
            for (int i = 0; i < n; i++) host[i] = (float)(rng.NextDouble() * 2 - 1);
            DeviceBuffer buffer = _backend.Allocate(n);
            _backend.Upload(host, buffer.All);
            return buffer;
        }
        _inp = Put(N * C);
        _weight = Put(OC * C);
        _bias = Put(OC);
        _out = _backend.Allocate((long)N * OC);
    }

    /// <summary>Releases the buffers and the backend.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new[] { _inp, _weight, _bias, _out }) b.Dispose();
        _backend.Dispose();
    }

    /// <summary>out = inp · weightᵀ + bias, then a one-float read that waits for it.</summary>
    [Benchmark]
    public void Forward()
    {
        _backend.MatmulForward(_out.All, _inp.All, _weight.All, _bias.All, N, C, OC);
        _backend.Download(_out.Slice(0, 1), _one);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.ShortRun);
    }
}
