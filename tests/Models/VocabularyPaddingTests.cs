using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Backends;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Models;

/// <summary>
/// The arena's padded vocabulary (<see cref="VocabularyPadding"/>): the head's pad rows stay exactly
/// zero through training, files hold V rows and a save/load round trip gives back every bit, a
/// padded model computes what an unpadded one does (loss, gradients, logits, decoding), and the
/// head's GEMMs are issued with the padded leading dimension. GPT-2 and Llama, tied and untied.
/// </summary>
public class VocabularyPaddingTests
{
    // 300 pads to 320: not a multiple of any vector width, so a head GEMM over V would take every tail path.
    private const int V = 300, Vp = 320, B = 2, T = 7;

    private static IModelConfig Config(string kind) => kind switch
    {
        "gpt2" => Gpt2Config.Tiny with { VocabSize = V },
        "llama" => LlamaConfig.LlamaTiny with { VocabSize = V },
        "llama-tied" => LlamaConfig.LlamaTiny with { VocabSize = V, TieWordEmbeddings = true },
        _ => throw new ArgumentException(kind),
    };

    private static IModelConfig Unpadded(IModelConfig c) => c switch
    {
        Gpt2Config g => g with { VocabMultiple = 1 },
        LlamaConfig l => l with { VocabMultiple = 1 },
        _ => throw new ArgumentException(c.ModelType),
    };

    private static readonly string[] Kinds = ["gpt2", "llama", "llama-tied"];

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);


    // Targets include the last real id, so the head's last real row (next to the padding) trains.
    private static (int[] X, int[] Y) Batch(int seed)
    {
        var rng = new Random(seed);
        var x = Enumerable.Range(0, B * T).Select(_ => rng.Next(V)).ToArray();
        var y = Enumerable.Range(0, B * T).Select(_ => rng.Next(V)).ToArray();
        x[0] = y[1] = V - 1;
        y[2] = -1; // an ignored row
        return (x, y);
    }

    private static void Step(ICausalLm model, int[] x, int[] y)
    {
        model.ZeroGradients();
        model.Forward(x, y, B, T);
        model.Backward();
        // Weight decay on: a pad row that AdamW touched would still stay zero only by luck of the arithmetic.
        model.Update(1e-2f, new AdamWSettings { WeightDecay = 0.1f, GradClip = 1f });
    }

    /// <summary>The floats of every pad row of <paramref name="arena"/> (laid out as <paramref name="layout"/>).</summary>
    private static float[] PadFloats(ParameterLayout layout, float[] arena) =>
        layout.Entries.Where(e => e.PadRows > 0).SelectMany(e => arena[(int)(e.Offset + e.Stored)..(int)(e.Offset + e.Count)]).ToArray();

    /// <summary>The arena without its pad rows: what the same weights are in an unpadded model.</summary>
    private static float[] WithoutPadding(ParameterLayout layout, float[] arena) =>
        layout.Entries.SelectMany(e => arena[(int)e.Offset..(int)(e.Offset + e.Stored)]).ToArray();

    [TestCaseSource(nameof(Kinds))]
    public void PadRowsStayExactlyZeroThroughTraining(string kind)
    {
        using var backend = new CpuBackend();
        using var model = Architectures.Create(Config(kind), backend);
        Assert.That(model.Config.PaddedVocabSize, Is.EqualTo(Vp));
        var padded = model.Layout.Entries.Where(e => e.PadRows > 0).ToList();
        Assert.That(padded.Select(e => (e.Shape[0], e.PadRows)), Is.EqualTo(new[] { (Vp, Vp - V) }), "one head tensor of Vp rows");
        Assert.That(model.Layout.Total - model.Layout.Parameters, Is.EqualTo((long)(Vp - V) * model.Config.Channels));
        model.InitializeWeights(5);
        Assert.That(PadFloats(model.Layout, model.ReadParameters()), Is.All.EqualTo(0f), "initialised");

        var (x, y) = Batch(3);
        for (int s = 1; s <= 3; s++)
        {
            Step(model, x, y);
            var (m, v) = model.OptimizerState();
            Assert.That(PadFloats(model.Layout, model.ReadParameters()), Is.All.EqualTo(0f), $"parameters after step {s}");
            Assert.That(PadFloats(model.Layout, model.ReadGradients()), Is.All.EqualTo(0f), $"gradients after step {s}");
            Assert.That(PadFloats(model.Layout, Check.Download(backend, m)), Is.All.EqualTo(0f), $"m after step {s}");
            Assert.That(PadFloats(model.Layout, Check.Download(backend, v)), Is.All.EqualTo(0f), $"v after step {s}");
        }
        // The real rows did train (the test would pass vacuously on a frozen model otherwise).
        var head = padded[0];
        Assert.That(model.ReadGradients()[(int)(head.Offset + head.Stored - 1)], Is.Not.EqualTo(0f), "the last real row's gradient");

        // The logits' pad columns are zero, and after a forward with targets so are the probabilities'.
        model.Forward(x, [], B, T);
        var logits = Check.Download(backend, model.Logits);
        Assert.That(logits, Has.Length.EqualTo(B * T * Vp));
        for (int n = 0; n < B * T; n++) Assert.That(logits[(n * Vp + V)..((n + 1) * Vp)], Is.All.EqualTo(0f), $"logits row {n}");
        model.Forward(x, y, B, T);
        var probs = Check.Download(backend, model.Logits);
        for (int n = 0; n < B * T; n++)
        {
            Assert.That(probs[(n * Vp + V)..((n + 1) * Vp)], Is.All.EqualTo(0f), $"probabilities row {n}");
            Assert.That(probs[(n * Vp)..(n * Vp + V)].Sum(), Is.EqualTo(1f).Within(1e-5), $"row {n} sums to 1 over V");
        }
    }

    [TestCase("cpu")]
    [TestCase("reference")]
    public void AdamWKeepsAZeroWithAZeroGradientAtZero(string backendName)
    {
        // What a pad row would see if the optimizer did step it: m = v = 0, so the update is
        // lr·(0/(0 + eps) + decay·0) = 0 at every step.
        using var backend = BackendRegistry.Create(backendName);
        using var buffer = backend.Allocate(4 * 67);
        var all = buffer.All;
        backend.Zero(all);
        TensorView p = all.Slice(0, 67), m = all.Slice(67, 67), v = all.Slice(134, 67), g = all.Slice(201, 67);
        for (int step = 1; step <= 5; step++) backend.AdamWUpdate(p, m, v, g, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 0.5f);
        Assert.That(Check.Bits(Check.Download(backend, all)), Is.All.EqualTo(0));
    }

    [TestCaseSource(nameof(Kinds))]
    public void SaveWritesVRowsAndLoadGivesBackEveryBit(string kind)
    {
        using var backend = new CpuBackend();
        using var model = Architectures.Create(Config(kind), backend);
        model.InitializeWeights(7);
        var (x, y) = Batch(4);
        for (int s = 0; s < 3; s++) Step(model, x, y);
        Checkpoint.Save(_dir, model, new TrainingState { Tokenizer = "byte", Step = model.Step }, withOptimizer: true);

        // The files hold V rows: no tensor has a dimension of Vp, the head holds the arena's first V rows,
        // and the moments hold exactly the parameters (no pad row's).
        var parameters = model.ReadParameters();
        var head = model.Layout.Entries.Single(e => e.PadRows > 0);
        string headName = kind == "gpt2" ? "wte.weight" : kind == "llama" ? "lm_head.weight" : "model.embed_tokens.weight";
        using (var st = SafeTensors.Open(Path.Combine(_dir, Checkpoint.ModelFile)))
        {
            Assert.That(st.Tensors.SelectMany(t => t.Shape), Has.None.EqualTo(Vp), "a tensor with the padded vocabulary");
            Assert.That(st.Tensors.Sum(t => t.Count), Is.EqualTo(model.Layout.Parameters));
            Assert.That(st.Info(headName).Shape, Is.EqualTo(new[] { V, model.Config.Channels }));
            Assert.That(Check.Bits(st.ReadFloats(headName)), Is.EqualTo(Check.Bits(parameters[(int)head.Offset..(int)(head.Offset + head.Stored)])));
        }
        using (var st = SafeTensors.Open(Path.Combine(_dir, Checkpoint.OptimizerFile)))
            Assert.That(st.Tensors.Sum(t => t.Count), Is.EqualTo(2 * model.Layout.Parameters), "m and v");

        model.Forward(x, [], B, T);
        var logits = Check.Download(backend, model.Logits);
        float loss = model.Forward(x, y, B, T);
        var (m, v) = model.OptimizerState();
        var hm = Check.Download(backend, m);
        var hv = Check.Download(backend, v);

        using var backend2 = new CpuBackend();
        var (loaded, _) = Checkpoint.Load(_dir, backend2, withOptimizer: true);
        using (loaded)
        {
            Assert.That(loaded.Config.PaddedVocabSize, Is.EqualTo(Vp));
            Assert.That(Check.Bits(loaded.ReadParameters()), Is.EqualTo(Check.Bits(parameters)), "parameters, zero pad rows included");
            var (m2, v2) = loaded.OptimizerState();
            Assert.That(Check.Bits(Check.Download(backend2, m2)), Is.EqualTo(Check.Bits(hm)), "m");
            Assert.That(Check.Bits(Check.Download(backend2, v2)), Is.EqualTo(Check.Bits(hv)), "v");
            loaded.Forward(x, [], B, T);
            Assert.That(Check.Bits(Check.Download(backend2, loaded.Logits)), Is.EqualTo(Check.Bits(logits)), "logits");
            Assert.That(BitConverter.SingleToInt32Bits(loaded.Forward(x, y, B, T)), Is.EqualTo(BitConverter.SingleToInt32Bits(loss)), "loss");
            // Resuming continues the run bit for bit.
            Step(model, x, y);
            Step(loaded, x, y);
            Assert.That(Check.Bits(loaded.ReadParameters()), Is.EqualTo(Check.Bits(model.ReadParameters())), "one more step on each");
        }
    }

    [Test]
    public void MomentsInTheEarlierWholeArenaFormatLoadAroundThePadRows()
    {
        // optimizer.safetensors once held one "m" and one "v" over the whole (then unpadded) arena:
        // tensor after tensor in layout order, which a padded arena holds with gaps after its head.
        using var backend = new CpuBackend();
        using var model = Architectures.Create(Config("gpt2"), backend);
        model.InitializeWeights(8);
        var (x, y) = Batch(6);
        for (int s = 0; s < 2; s++) Step(model, x, y);
        Checkpoint.Save(_dir, model, new TrainingState { Tokenizer = "byte", Step = model.Step }, withOptimizer: true);
        var (m, v) = model.OptimizerState();
        float[] hm = Check.Download(backend, m), hv = Check.Download(backend, v);
        float[] flatM = WithoutPadding(model.Layout, hm), flatV = WithoutPadding(model.Layout, hv);
        SafeTensors.Write(Path.Combine(_dir, Checkpoint.OptimizerFile),
            [("m", [flatM.Length], flatM), ("v", [flatV.Length], flatV)],
            new Dictionary<string, string> { ["step"] = model.Step.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        var (loaded, _) = Checkpoint.Load(_dir, backend, withOptimizer: true);
        using (loaded)
        {
            var (m2, v2) = loaded.OptimizerState();
            Assert.That(Check.Bits(Check.Download(backend, m2)), Is.EqualTo(Check.Bits(hm)), "m");
            Assert.That(Check.Bits(Check.Download(backend, v2)), Is.EqualTo(Check.Bits(hv)), "v");
        }
    }

    [TestCaseSource(nameof(Kinds))]
    public void PaddedModelComputesWhatAnUnpaddedOneDoes(string kind)
    {
        using var backend = new CpuBackend();
        using var padded = Architectures.Create(Config(kind), backend);
        using var plain = Architectures.Create(Unpadded(Config(kind)), backend);
        Assert.That(plain.Config.PaddedVocabSize, Is.EqualTo(V));
        padded.InitializeWeights(9);
        plain.LoadParameters(WithoutPadding(padded.Layout, padded.ReadParameters()));
        var (x, y) = Batch(5);

        // Same weights, same sums over C per logit: only the GEMM's output width differs, so agreement
        // is to float rounding (1e-6 leaves headroom over the blocking's reordering; a wrong stride or a
        // pad column in the softmax is off by orders of magnitude).
        padded.Forward(x, [], B, T);
        plain.Forward(x, [], B, T);
        var wide = new float[B * T * V];
        VocabularyPadding.DownloadRows(backend, padded.Logits, wide, B * T, V, Vp);
        Check.Close("logits", wide, Check.Download(backend, plain.Logits), rtol: 1e-6, atol: 1e-7);

        padded.ZeroGradients();
        plain.ZeroGradients();
        float lossPadded = padded.Forward(x, y, B, T), lossPlain = plain.Forward(x, y, B, T);
        Assert.That(lossPadded, Is.EqualTo(lossPlain).Within(1e-6).Percent, "loss");
        padded.Backward();
        plain.Backward();
        Check.Close("gradients", WithoutPadding(padded.Layout, padded.ReadGradients()), plain.ReadGradients(), rtol: 1e-5, atol: 1e-8);

        // The decoder hands out V columns per row, the same as the forward's last position.
        using var decoder = padded.CreateDecoder(1);
        var last = new float[V];
        decoder.Feed(x.AsSpan(0, T), T, last);
        Check.Close("decoded logits", last, wide.AsSpan((T - 1) * V, V), rtol: 1e-5, atol: 1e-6);
    }

    private static IEnumerable<TestCaseData> DeviceBackends() =>
        BackendRegistry.All.Select(e => e.Name).Where(n => n is not ("cpu" or "reference"))
            .Select(n => new TestCaseData(n).SetArgDisplayNames(n));

    [TestCaseSource(nameof(DeviceBackends))]
    public void DeviceBackendsTrainThePaddedHeadAsTheCpuDoes(string device)
    {
        if (!BackendRegistry.TryCreate(device, out IBackend? created, out string reason)) Assert.Ignore($"{device} is not available here: {reason}");
        using var backend = created!;
        using var cpu = new CpuBackend();
        using var onDevice = Architectures.Create(Config("gpt2"), backend);
        using var onCpu = Architectures.Create(Config("gpt2"), cpu);
        onCpu.InitializeWeights(10);
        onDevice.LoadParameters(onCpu.ReadParameters());
        var (x, y) = Batch(11);
        Step(onCpu, x, y);
        Step(onDevice, x, y);
        // The backends differ by float reordering only (the op suite bounds each op at ~1e-6 of
        // scale): gradients within 1e-4 relative; AdamW's first step moves a weight by about lr, so
        // parameters agree to 1e-4 of their size. A wrong row stride or an unzeroed pad column is
        // off by the logits' own size.
        Check.Close("gradients", onDevice.ReadGradients(), onCpu.ReadGradients(), rtol: 1e-4, atol: 1e-7);
        Check.Close("parameters", onDevice.ReadParameters(), onCpu.ReadParameters(), rtol: 1e-4, atol: 1e-6);
        Assert.That(PadFloats(onDevice.Layout, onDevice.ReadParameters()), Is.All.EqualTo(0f), "pad rows on the device");
        Assert.That(PadFloats(onDevice.Layout, onDevice.ReadGradients()), Is.All.EqualTo(0f), "pad rows' gradient on the device");
    }

    [Test]
    public void HeadGemmsAreIssuedWithThePaddedLeadingDimension()
    {
        // GPT-2's vocabulary: 50257 is odd, so a head GEMM over it has a leading dimension that no
        // float4 (or wider) load divides; padded to 50304 = 64·786 every row starts 16-byte aligned.
        var config = new Gpt2Config { NLayer = 1, NHead = 1, NEmbd = 16, NPositions = 8, VocabSize = 50257 };
        Assert.That(config.PaddedVocabSize, Is.EqualTo(50304));
        Assert.That(Gpt2Config.Gpt2.PaddedVocabSize, Is.EqualTo(50304), "GPT-2 124M pads as llm.c does");
        var backend = new JournalingBackend();
        using var model = new Gpt2(config, backend);
        model.InitializeWeights(1);
        int[] x = [50256, 3, 7], y = [3, 7, 50256];
        model.ZeroGradients();
        model.Forward(x, y, 1, 3);
        model.Backward();
        using (var decoder = model.CreateDecoder(1))
            decoder.Feed(x, 3, new float[50257]);

        var head = backend.Matmuls.Where(mm => mm.OC >= config.VocabSize).ToList();
        Assert.That(head.Select(mm => mm.Backward), Is.EqualTo(new[] { false, true, false }), "training forward, backward, decoder forward");
        foreach (var mm in head)
        {
            Assert.That(mm.OC, Is.EqualTo(50304), "the head GEMM's width (the leading dimension of logits and dlogits)");
            Assert.That(mm.Rows.Offset % 4, Is.Zero, "logits start 16-byte aligned in their arena");
        }
    }
}
