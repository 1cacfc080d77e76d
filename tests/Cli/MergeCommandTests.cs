using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;
using Hyper.Runtime.Data;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// `hyper merge` end to end on tiny models trained for a few steps: soups against the mean of the
/// parameters bit for bit, self-merges against the model's own loss, the greedy soup against its
/// best ingredient, Breadcrumbs' mask on a checkpoint of known values, task arithmetic, and the bad
/// inputs that must be user errors.
/// </summary>
[NonParallelizable]
public class MergeCommandTests
{
    private const int Seq = 16;
    private string _root = "", _dir = "", _a = "", _b = "", _c = "";

    private static string Text => Fixtures.Path("hf_eval.txt");

    [OneTimeSetUp]
    public void TrainIngredients()
    {
        _root = Corpora.TempDir();
        TrainOptions Options(string name, ulong seed, int steps) =>
            new() { DataPath = Text, OutDir = Path.Combine(_root, name), Model = "tiny", Steps = steps, Batch = 2, Seq = Seq, EvalWindows = 2, Seed = seed };
        // a and c share a start (c trains longer), b starts elsewhere: a soup of a and c can help, one with b hardly.
        Trainer.Run(Options("a", 1, 3));
        Trainer.Run(Options("b", 2, 3));
        Trainer.Run(Options("c", 1, 8));
        (_a, _b, _c) = (Path.Combine(_root, "a"), Path.Combine(_root, "b"), Path.Combine(_root, "c"));
    }

    [OneTimeTearDown]
    public void RemoveIngredients() => Directory.Delete(_root, recursive: true);

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Merge(string name, params string[] args)
    {
        string outDir = Path.Combine(_dir, name);
        var (code, stdout, err) = CliRunner.Run(["merge", .. args, "--out", outDir]);
        Assert.That(code, Is.EqualTo(0), $"hyper merge {string.Join(' ', args)}\n{stdout}\n{err}");
        return outDir;
    }

    private static JsonNode MergeJson(string outDir, params string[] args)
    {
        var (code, stdout, err) = CliRunner.Run(["merge", .. args, "--out", outDir, "--json"]);
        Assert.That(code, Is.EqualTo(0), err);
        return JsonNode.Parse(stdout)!;
    }

    private static float[] Weights(string dir) => Checkpoint.ReadWeights(dir, Checkpoint.ReadConfig(dir), out _);

    private static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();

    private static double Loss(string dir)
    {
        using var backend = new CpuBackend();
        var (model, state) = Checkpoint.Load(dir, backend);
        using var _ = model;
        var tokens = TokenCorpus.Load(Text, Tokenizers.Create(state.Tokenizer));
        return Evaluator.Evaluate(model, tokens, Seq).Loss;
    }

    [Test]
    public void MergingAModelWithItselfGivesItsLossExactly()
    {
        string self = Merge("self", "--models", _a, _a);
        Assert.That(Bits(Weights(self)), Is.EqualTo(Bits(Weights(_a))), "0.5·a + 0.5·a is a");
        Assert.That(Loss(self), Is.EqualTo(Loss(_a)));

        string oneZero = Merge("one-zero", "--models", _a, _b, "--weights", "1,0");
        Assert.That(Loss(oneZero), Is.EqualTo(Loss(_a)));
        var (w, a) = (Weights(oneZero), Weights(_a));
        for (int i = 0; i < w.Length; i++) Assert.That(w[i], Is.EqualTo(a[i]), $"parameter {i}"); // == also holds for a signed zero
    }

    [Test]
    public void UniformSoupOfTwoIsTheMeanOfTheirParametersBitForBit()
    {
        string soup = Merge("soup", "--models", _a, _b);
        float[] a = Weights(_a), b = Weights(_b);
        var mean = a.Zip(b, (x, y) => (x + y) / 2).ToArray();
        Assert.That(Bits(Weights(soup)), Is.EqualTo(Bits(mean)));
        Assert.That(Checkpoint.ReadState(soup, Checkpoint.ReadConfig(soup)).Tokenizer, Is.EqualTo("byte"));
        // An ordinary checkpoint: it loads, evaluates and has no optimizer state to resume from.
        Assert.That(File.Exists(Path.Combine(soup, Checkpoint.OptimizerFile)), Is.False);
        Assert.That(Loss(soup), Is.GreaterThan(0));
    }

    [Test]
    public void WeightedSoupIsTheWeightedSumOfTheParameters()
    {
        string soup = Merge("w", "--models", _a, _b, _c, "--weights", "0.25,0.25,0.5");
        float[] a = Weights(_a), b = Weights(_b), c = Weights(_c);
        var expected = new float[a.Length];
        for (int i = 0; i < a.Length; i++) expected[i] = MathF.FusedMultiplyAdd(0.5f, c[i], MathF.FusedMultiplyAdd(0.25f, b[i], 0.25f * a[i]));
        Assert.That(Bits(Weights(soup)), Is.EqualTo(Bits(expected)));
    }

    [Test]
    public void GreedySoupIsNeverWorseThanItsBestIngredient()
    {
        string outDir = Path.Combine(_dir, "greedy");
        var json = MergeJson(outDir, "--models", _a, _b, _c, "--greedy", "--val", Text, "--seq", $"{Seq}");
        double best = new[] { _a, _b, _c }.Min(Loss);
        double soup = Loss(outDir);
        Assert.That(soup, Is.LessThanOrEqualTo(best));
        Assert.That(json["val_loss"]!.GetValue<double>(), Is.EqualTo(soup), "the reported loss is the written model's");
        var tries = json["greedy"]!.AsArray();
        Assert.That(tries, Has.Count.EqualTo(3));
        Assert.That(tries[0]!["loss"]!.GetValue<double>(), Is.EqualTo(best), "the soup starts from the best ingredient");
        var kept = tries.Where(t => t!["kept"]!.GetValue<bool>()).Select(t => t!["model"]!.GetValue<string>()).ToArray();
        Assert.That(json["models"]!.AsArray().Select(m => m!.GetValue<string>()), Is.EqualTo(kept));

        // The text form prints the table of tries.
        var (code, stdout, _) = CliRunner.Run("merge", "--models", _a, _b, _c, "--greedy", "--val", Text, "--seq", $"{Seq}", "--out", Path.Combine(_dir, "greedy-text"));
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout, Does.Contain("| try | ingredient | its loss | soup size | soup loss | kept |"));
        Assert.That(stdout.Split('\n').Count(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| try", StringComparison.Ordinal) && !l.StartsWith("| ---", StringComparison.Ordinal)), Is.EqualTo(3));
    }

    [Test]
    public void TaskArithmeticAddsTheScaledTaskVectorToTheBase()
    {
        float[] a = Weights(_a), b = Weights(_b), c = Weights(_c);
        string ta = Merge("ta", "--base", _a, "--models", _b, _c, "--lambda", "0.5");
        var expected = new float[a.Length];
        for (int i = 0; i < a.Length; i++)
            expected[i] = MathF.FusedMultiplyAdd(0.5f, c[i] - a[i], MathF.FusedMultiplyAdd(0.5f, b[i] - a[i], a[i]));
        Assert.That(Bits(Weights(ta)), Is.EqualTo(Bits(expected)));

        // λ = 0, and a model's task vector against itself, give the base back exactly.
        Assert.That(Bits(Weights(Merge("l0", "--base", _a, "--models", _b, "--lambda", "0"))), Is.EqualTo(Bits(a)));
        Assert.That(Bits(Weights(Merge("self", "--base", _a, "--models", _a, "--method", "breadcrumbs"))), Is.EqualTo(Bits(a)));
    }

    [Test]
    public void BreadcrumbsKeepsTheBandOfEachTaskVectorTensor()
    {
        // A base of zeros and a model whose every tensor holds ±1..±n in shuffled order: the task vector
        // is the model, the merge is the masked task vector, and which values survive is known.
        var config = Gpt2Config.Tiny;
        var layout = new ParameterLayout(config);
        string zero = Path.Combine(_dir, "zero"), known = Path.Combine(_dir, "known");
        using (var backend = new CpuBackend())
        using (var model = new Gpt2(config, backend))
        {
            model.LoadParameters(new float[layout.Total]);
            Checkpoint.Save(zero, model, new TrainingState(), withOptimizer: false);
        }
        var rng = new Random(4);
        Checkpoint.SaveTensors(known, config, new TrainingState(), (_, data) =>
        {
            for (int i = 0; i < data.Length; i++) data[i] = i % 2 == 0 ? i + 1 : -(i + 1);
            rng.Shuffle(data);
        });

        const double beta = 0.1, gamma = 0.3;
        var json = MergeJson(Path.Combine(_dir, "bc"), "--base", zero, "--models", known, "--method", "breadcrumbs",
            "--top-beta", $"{beta}", "--bottom-gamma", $"{gamma}");
        using var merged = CheckpointTensors.Open(Path.Combine(_dir, "bc"));
        using var input = CheckpointTensors.Open(known);
        long kept = 0, total = 0;
        foreach (var m in merged.Mappings)
        {
            int n = m.Shape.Aggregate(1, (p, d) => p * d);
            float[] x = new float[n], y = new float[n];
            input.Read(m.Name, x);
            merged.Read(m.Name, y);
            int top = (int)Math.Round(beta * n, MidpointRounding.ToEven), bottom = (int)Math.Round(gamma * n, MidpointRounding.ToEven);
            for (int i = 0; i < n; i++)
            {
                float magnitude = Math.Abs(x[i]);
                bool inBand = magnitude > bottom && magnitude <= n - top;
                Assert.That(y[i], Is.EqualTo(inBand ? x[i] : 0f), $"{m.Name}[{i}] = {x[i]} of {n}");
            }
            int keptHere = y.Count(v => v != 0);
            Assert.That(keptHere, Is.EqualTo(n - top - bottom), m.Name);
            Assert.That((double)keptHere / n, Is.EqualTo(1 - beta - gamma).Within(1.0 / n), m.Name);
            kept += keptHere;
            total += n;
        }
        Assert.That(json["kept_fraction"]!.GetValue<double>(), Is.EqualTo((double)kept / total));
        Assert.That(json["peak_rss_bytes"]!.GetValue<long>(), Is.GreaterThan(0));
    }

    // --- bad input: exit 2, one line naming the problem, nothing written ---

    private void Refused(string[] args, params string[] mustContain)
    {
        string outDir = Path.Combine(_dir, "refused");
        CliRunner.RunExpectingUserError(["merge", .. args, "--out", outDir], mustContain);
        Assert.That(Checkpoint.IsCheckpoint(outDir), Is.False, "nothing written");
    }

    private string SavedWith(string name, Gpt2Config config, string tokenizer = "byte")
    {
        string dir = Path.Combine(_dir, name);
        using var backend = new CpuBackend();
        using var model = new Gpt2(config, backend);
        model.InitializeWeights(5);
        Checkpoint.Save(dir, model, new TrainingState { Tokenizer = tokenizer }, withOptimizer: false);
        return dir;
    }

    [Test]
    public void MismatchedArchitecturesShapesAndTokenizersAreRefused()
    {
        string wide = SavedWith("wide", Gpt2Config.Tiny with { NEmbd = 32 });
        Refused(["--models", _a, wide], Path.Combine(wide, "model.safetensors"), "wte.weight", "[256, 32]", "[256, 64]");
        string deep = SavedWith("deep", Gpt2Config.Tiny with { NLayer = 3 });
        Refused(["--models", _a, deep], "h.2.", "n_layer 3");
        Refused(["--models", deep, _a], "h.2.", "is missing");
        string heads = SavedWith("heads", Gpt2Config.Tiny with { NHead = 4 });
        Refused(["--models", _a, heads], "config.json", "n_head 4");
        string gpt2 = SavedWith("gpt2", Gpt2Config.Tiny, tokenizer: "gpt2");
        Refused(["--models", _a, gpt2], "hyper.json", "tokenizer 'gpt2'");
        Refused(["--base", _a, "--models", wide], "wte.weight", "[256, 32]");

        // A model.safetensors whose tensor does not fit its own config.json.
        string bent = SavedWith("bent", Gpt2Config.Tiny);
        var tensors = Gpt2HuggingFace.FromArena(Gpt2Config.Tiny, Weights(bent))
            .Select(t => t.Name == "h.1.mlp.c_fc.bias" ? (t.Name, new[] { 255 }, t.Data[..255]) : t).ToList();
        SafeTensors.Write(Path.Combine(bent, "model.safetensors"), tensors, new Dictionary<string, string> { ["step"] = "0" });
        Refused(["--models", _a, bent], "h.1.mlp.c_fc.bias", "[255]");
    }

    [Test]
    public void BadFlagsAreRefused()
    {
        string missing = Path.Combine(_dir, "missing");
        Refused(["--models", _a, missing], missing, "not a checkpoint folder");
        Refused(["--models", _a, _b, "--weights", "0.5"], "1 weights for 2 models");
        Refused(["--models", _a, _b, "--weights", "0.5,x"], "'x' is not a number");
        Refused(["--models", _a, _b, "--weights", "0.7,0.7"], "sum to 1.4", "--allow-extrapolation");
        Refused(["--models", _a, _b, "--weights", "1.5,-0.5"], "[0, 1]");
        Refused(["--models", _a], "at least two --models");
        Refused(["--models", _a, _b, "--greedy"], "--greedy needs --val");
        Refused(["--models", _a, _b, "--greedy", "--val", Text, "--weights", "0.5,0.5"], "uniform weights");
        Refused(["--models", _a, _b, "--method", "breadcrumbs"], "needs --base");
        Refused(["--models", _a, "--base", _b, "--method", "ties"], "'ties'");
        Refused(["--models", _a, _b, "--top-beta", "0.1"], "--method breadcrumbs");
        Refused(["--models", _a, "--base", _b, "--method", "breadcrumbs", "--top-beta", "0.5", "--bottom-gamma", "0.5"], "sum must be below 1");
        Refused(["--models", _a, _b, "--lambda", "0.5"], "needs --base");
        CliRunner.RunExpectingUserError(["merge", "--models", _a, _b, "--out", _c], _c, "already holds a checkpoint");

        // Extrapolation is allowed when asked for.
        Merge("extra", "--models", _a, _b, "--weights", "1.5,-0.5", "--allow-extrapolation");
    }
}
