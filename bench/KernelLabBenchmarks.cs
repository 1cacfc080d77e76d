using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Hyper.Runtime.Backends;

namespace Hyper.Bench;

/// <summary>
/// The kernel lab across backends: every matmul and attention variant of every backend available
/// here (cpu; cuda, ilgpu, opencl where they load), side by side at one GPT-2-sized shape. Each
/// call ends with a one-float download so that an asynchronous device is timed to completion.
/// `hyper bench kernels` checks the same variants against the reference first.
/// </summary>
[Config(typeof(Config))]
public class KernelLabBenchmarks
{
    private const int N = 1024, C = 768, OC = 768, B = 2, T = 512, NH = 12;
    private IBackend _backend = null!;
    private DeviceBuffer[] _buffers = [];

    /// <summary>"backend/variant" for every variant of every available backend (reference excluded: too slow).</summary>
    public static IEnumerable<string> Targets()
    {
        foreach (var entry in BackendRegistry.All.Where(e => e.Name != "reference"))
        {
            if (!BackendRegistry.TryCreate(entry.Name, out var be, out _)) continue;
            using (be)
            {
                var lab = be as IKernelVariants;
                var names = new HashSet<string>((lab?.VariantsOf(Op.Matmul) ?? []).Concat(lab?.VariantsOf(Op.Attention) ?? []));
                if (names.Count == 0) names.Add("default");
                foreach (string v in names) yield return $"{entry.Name}/{v}";
            }
        }
    }

    /// <summary>Current backend and variant.</summary>
    [ParamsSource(nameof(Targets))]
    public string Target { get; set; } = "";

    /// <summary>Creates the backend, picks the variant for the ops that have it, uploads seeded inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var parts = Target.Split('/');
        _backend = BackendRegistry.Create(parts[0]);
        if (_backend is IKernelVariants lab)
            foreach (var op in new[] { Op.Matmul, Op.Attention })
                if (lab.VariantsOf(op).Contains(parts[1])) lab.UseVariant(op, parts[1]);
        long[] lengths = [N * OC, N * C, OC * C, OC, B * T * C, B * NH * T, B * T * 3 * C];
        var rng = new Random(1);
        _buffers = lengths.Select(n =>
        {
            var buffer = _backend.Allocate(n);
            _backend.Upload(Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), buffer.All);
            return buffer;
        }).ToArray();
    }

    /// <summary>Frees the buffers and the backend.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in _buffers) b.Dispose();
        _backend.Dispose();
    }

    /// <summary>out[N,OC] = inp[N,C] · weightᵀ + bias.</summary>
    [Benchmark]
    public float Matmul()
    {
        _backend.MatmulForward(_buffers[0].All, _buffers[1].All, _buffers[2].All, _buffers[3].All, N, C, OC);
        return Sync(_buffers[0]);
    }

    /// <summary>Causal attention forward over qkv[B,T,3C].</summary>
    [Benchmark]
    public float Attention()
    {
        _backend.AttentionForward(_buffers[4].All, _buffers[5].All, _buffers[6].All, B, T, C, NH, causal: true);
        return Sync(_buffers[4]);
    }

    private float Sync(DeviceBuffer buffer)
    {
        Span<float> one = stackalloc float[1];
        _backend.Download(buffer.Slice(0, 1), one);
        return one[0];
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.ShortRun);
    }
}
