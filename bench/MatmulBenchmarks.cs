using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Hyper.Kernels.Cpu;

namespace Hyper.Bench;

/// <summary>
/// The matmul kernel lab: the three variants (naive, tiled, blocked) side by side, forward and
/// backward, at the benchmark model's shapes: N = 2048 rows (B·T) and (C, OC) of the attention
/// projection (384→1152), output projection (384→384), MLP up (384→1536) and down (1536→384), and
/// a 384→256 layer. A short job (3 warm-ups, 3 measured iterations): a few minutes in all.
/// <para>
/// GFLOP/s counts 2·N·C·OC for the forward and 4·N·C·OC for the backward (dinp and dweight; the
/// bias sum is not counted).
/// </para>
/// </summary>
[Config(typeof(Config))]
public class MatmulBenchmarks
{
    private const int N = 2048;
    private float[] _inp = [], _weight = [], _bias = [], _out = [], _dout = [], _dinp = [], _dweight = [], _dbias = [];

    /// <summary>The (C, OC) pairs of the benchmark model.</summary>
    public static IEnumerable<MatmulShape> Shapes() =>
    [
        new(C: 384, OC: 1152), new(C: 384, OC: 384), new(C: 384, OC: 1536), new(C: 1536, OC: 384), new(C: 384, OC: 256),
    ];

    /// <summary>Current shape.</summary>
    [ParamsSource(nameof(Shapes))]
    public MatmulShape Shape { get; set; } = null!;

    /// <summary>Current variant.</summary>
    [Params(MatmulVariant.Naive, MatmulVariant.Tiled, MatmulVariant.Blocked)]
    public MatmulVariant Variant { get; set; }

    /// <summary>Seeded inputs in [-1, 1) and zeroed gradients.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1234);
        float[] Fill(int n)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
            return a;
        }
        int C = Shape.C, OC = Shape.OC;
        _inp = Fill(N * C);
        _weight = Fill(OC * C);
        _bias = Fill(OC);
        _dout = Fill(N * OC);
        _out = new float[N * OC];
        _dinp = new float[N * C];
        _dweight = new float[OC * C];
        _dbias = new float[OC];
    }

    /// <summary>out = inp · weightᵀ + bias.</summary>
    [Benchmark]
    public void Forward() => Matmul.Forward(Variant, _out, _inp, _weight, _bias, N, Shape.C, Shape.OC);

    /// <summary>dinp, dweight and dbias (accumulating; the growing values do not change the work).</summary>
    [Benchmark]
    public void Backward() => Matmul.Backward(Variant, _dinp, _dweight, _dbias, _dout, _inp, _weight, N, Shape.C, Shape.OC);

    /// <summary>One layer's size (shown in the results table by <see cref="ToString"/>).</summary>
    public sealed record MatmulShape(int C, int OC)
    {
        /// <summary>Counted forward FLOPs, 2·N·C·OC.</summary>
        public double ForwardFlops => 2.0 * N * C * OC;

        /// <inheritdoc />
        public override string ToString() => $"{C}x{OC}";
    }

    /// <summary>Short job plus a GFLOP/s column.</summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.ShortRun);
            AddColumn(new GflopsColumn());
        }
    }

    /// <summary>Counted FLOPs (see the class summary) over the mean time.</summary>
    private sealed class GflopsColumn : IColumn
    {
        public string Id => nameof(MatmulBenchmarks) + nameof(GflopsColumn);
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "2·N·C·OC FLOPs (×2 for the backward) per mean time";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            if (meanNs is not > 0 || benchmarkCase.Parameters[nameof(Shape)] is not MatmulShape shape) return "?";
            double flops = shape.ForwardFlops * (benchmarkCase.Descriptor.WorkloadMethod.Name == nameof(Backward) ? 2 : 1);
            return (flops / meanNs.Value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture); // FLOP per ns = GFLOP/s
        }
    }
}
