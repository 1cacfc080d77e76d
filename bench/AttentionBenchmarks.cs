using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Hyper.Kernels.Cpu;

namespace Hyper.Bench;

/// <summary>
/// The attention kernel lab: naive (one materialised score row per query, scalar loops) against
/// flash (tiled, online softmax, Vector512 FMA) for the forward, and the flash backward, at the
/// benchmark model's shape (B=8, NH=6, T=256, hs=64, causal) and at one long sequence. A short
/// job (3 warm-ups, 3 measured iterations): minutes, not hours.
/// <para>
/// GFLOP/s counts 4·B·NH·T²·hs for a non-causal forward (QKᵀ and PV, 2 FLOPs per multiply-add),
/// half that under the causal mask, and 2.5× the forward for the backward (five products
/// instead of two), whatever the kernel actually computes.
/// </para>
/// </summary>
[Config(typeof(Config))]
public class AttentionBenchmarks
{
    private float[] _qkv = [], _out = [], _lse = [], _dout = [], _dqkv = [];

    /// <summary>The shapes compared.</summary>
    public static IEnumerable<AttentionShape> Shapes() =>
    [
        new(B: 8, NH: 6, T: 256, HeadSize: 64, Causal: true),   // the benchmark model's training step
        new(B: 1, NH: 1, T: 4096, HeadSize: 64, Causal: true),  // a long context, one head
    ];

    /// <summary>Current shape.</summary>
    [ParamsSource(nameof(Shapes))]
    public AttentionShape Shape { get; set; } = null!;

    /// <summary>Random q, k, v and output gradient; one forward so the backward has out and lse.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_qkv, _out, _lse, _dout, _dqkv) = Shape.Allocate();
        Attention.Forward(_out, _lse, _qkv, Shape.B, Shape.T, Shape.C, Shape.NH, Shape.Causal);
    }

    /// <summary>Materialised score rows, scalar loops.</summary>
    [Benchmark(Baseline = true)]
    public void ForwardNaive() =>
        Attention.Forward(AttentionVariant.Naive, _out, _lse, _qkv, Shape.B, Shape.T, Shape.C, Shape.NH, Shape.Causal);

    /// <summary>Tiled flash forward.</summary>
    [Benchmark]
    public void ForwardFlash() =>
        Attention.Forward(AttentionVariant.Flash, _out, _lse, _qkv, Shape.B, Shape.T, Shape.C, Shape.NH, Shape.Causal);

    /// <summary>Flash backward (accumulates into dqkv; the growing values do not change the work).</summary>
    [Benchmark]
    public void BackwardFlash() =>
        Attention.Backward(_dqkv, _dout, _qkv, _out, _lse, Shape.B, Shape.T, Shape.C, Shape.NH, Shape.Causal);

    /// <summary>
    /// The flash forward alone at sequence lengths the naive kernel cannot reach in reasonable
    /// time: the long-context baseline (B=1, NH=1, hs=64), causal at 16384 and full at 32768.
    /// Memory stays O(T·hs): no T×T matrix exists anywhere.
    /// </summary>
    [Config(typeof(Config))]
    public class LongContext
    {
        private float[] _qkv = [], _out = [], _lse = [];

        /// <summary>The shapes measured.</summary>
        public static IEnumerable<AttentionShape> Shapes() =>
        [
            new(B: 1, NH: 1, T: 16384, HeadSize: 64, Causal: true),
            new(B: 1, NH: 1, T: 32768, HeadSize: 64, Causal: false),
        ];

        /// <summary>Current shape.</summary>
        [ParamsSource(nameof(Shapes))]
        public AttentionShape Shape { get; set; } = null!;

        /// <summary>Random q, k, v.</summary>
        [GlobalSetup]
        public void Setup() => (_qkv, _out, _lse, _, _) = Shape.Allocate();

        /// <summary>Tiled flash forward.</summary>
        [Benchmark]
        public void ForwardFlash() =>
            Attention.Forward(AttentionVariant.Flash, _out, _lse, _qkv, Shape.B, Shape.T, Shape.C, Shape.NH, Shape.Causal);
    }

    /// <summary>One attention problem size (shown in the results table by <see cref="ToString"/>).</summary>
    public sealed record AttentionShape(int B, int NH, int T, int HeadSize, bool Causal)
    {
        /// <summary>Channels, NH·hs.</summary>
        public int C => NH * HeadSize;

        /// <summary>Counted forward FLOPs: 4·B·NH·T²·hs, halved under the causal mask.</summary>
        public double ForwardFlops => 4.0 * B * NH * T * (double)T * HeadSize * (Causal ? 0.5 : 1);

        /// <summary>Seeded qkv[B,T,3C] and dout[B,T,C] in [-1, 1), with out, lse and dqkv buffers.</summary>
        public (float[] Qkv, float[] Out, float[] Lse, float[] Dout, float[] Dqkv) Allocate()
        {
            var rng = new Random(1234);
            float[] Fill(int n)
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
                return a;
            }
            return (Fill(B * T * 3 * C), new float[B * T * C], new float[B * NH * T], Fill(B * T * C), new float[B * T * 3 * C]);
        }

        /// <inheritdoc />
        public override string ToString() => $"B{B} NH{NH} T{T} hs{HeadSize}{(Causal ? " causal" : "")}";
    }

    /// <summary>Short job plus a GFLOP/s column.</summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.ShortRun);
            AddColumn(new GflopsColumn());
            SummaryStyle = SummaryStyle.Default.WithMaxParameterColumnWidth(32); // shapes untruncated
        }
    }

    /// <summary>Counted FLOPs (see the class summary) over the mean time.</summary>
    private sealed class GflopsColumn : IColumn
    {
        public string Id => nameof(GflopsColumn);
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "4·B·NH·T²·hs FLOPs (½ if causal, ×2.5 for the backward) per mean time";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            if (meanNs is not > 0 || benchmarkCase.Parameters[nameof(Shape)] is not AttentionShape shape) return "?";
            double flops = shape.ForwardFlops * (benchmarkCase.Descriptor.WorkloadMethod.Name.StartsWith("Backward", StringComparison.Ordinal) ? 2.5 : 1);
            return (flops / meanNs.Value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture); // FLOP per ns = GFLOP/s
        }
    }
}
