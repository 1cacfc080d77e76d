using System.Globalization;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Support;

namespace Hyper.Tests.Models;

/// <summary>
/// The Llama family against our independent PyTorch implementation (tools/reference/llama_reference.py):
/// a tiny llama (grouped-query attention, untied head, llama3 rope scaling), qwen2 (q/k/v biases,
/// tied) and qwen3 (per-head q/k norm, head_dim·NH ≠ C): logits, loss, every gradient, 10 AdamW
/// steps and the weights after them, on both host backends. The folders load through the same
/// path as a user's (config.json → registry → model.safetensors).
/// </summary>
[TestFixture("cpu")]
[TestFixture("reference")]
public class LlamaReferenceFixtureTests(string backendName)
{
    private static string Dir(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", name);

    private sealed record Fixture(AdamWSettings Adam, float Lr, int B, int T, int[] X, int[] Y, float[] Grads, float[] After,
        float[] Logits, float Loss, float[] Losses, float[] GradNorms);

    private static float[] Arena(SafeTensors st, LlamaConfig c, string prefix)
    {
        var layout = new ParameterLayout(c.NumHiddenLayers, Llama.LayoutSpecs(c));
        var arena = new float[layout.Total];
        foreach (var m in LlamaHuggingFace.Mappings(c))
        {
            var e = layout[m.ArenaTensor];
            long offset = m.Layer < 0 ? e.Offset : layout.LayerRange(e, m.Layer).Offset;
            st.ReadFloats(prefix + m.Name).CopyTo(arena.AsSpan((int)offset));
        }
        return arena;
    }

    private static Fixture Expected(string name, LlamaConfig c)
    {
        using var st = SafeTensors.Open(Dir(name + "_expected.safetensors"));
        var meta = st.Metadata;
        int I(string k) => int.Parse(meta[k], CultureInfo.InvariantCulture);
        float F(string k) => float.Parse(meta[k], CultureInfo.InvariantCulture);
        var adam = new AdamWSettings { Beta1 = F("beta1"), Beta2 = F("beta2"), Eps = F("eps"), WeightDecay = F("weight_decay"), GradClip = F("grad_clip") };
        return new Fixture(adam, F("lr"), I("batch"), I("seq"), st.ReadInts("x"), st.ReadInts("y"), Arena(st, c, "grad."), Arena(st, c, "params_after."),
            st.ReadFloats("logits"), st.ReadFloats("loss")[0], st.ReadFloats("losses"), st.ReadFloats("grad_norms"));
    }

    private (Llama Model, Fixture F) Load(string name)
    {
        var (model, _) = Checkpoint.Load(Dir(name), BackendRegistry.Create(backendName));
        var llama = (Llama)model;
        return (llama, Expected(name, llama.Config));
    }

    [TestCase("llama")]
    [TestCase("qwen2")]
    [TestCase("qwen3")]
    public void LogitsAndLossMatch(string name)
    {
        var (model, f) = Load(name);
        using var _ = model;
        Assert.That(model.Forward(f.X, [], f.B, f.T), Is.NaN);
        var logits = new float[f.Logits.Length];
        model.Backend.Download(model.Logits, logits);
        // fp32 through 2 blocks, sums of <= 176 terms in another order than PyTorch's: differences
        // are ~1e-6 of the logits' scale; any wrong term (a missing bias, a rotation of the wrong
        // halves, a skipped q norm) is orders of magnitude larger.
        Check.Close("logits", logits, f.Logits, rtol: 2e-5);
        Assert.That(model.Forward(f.X, f.Y, f.B, f.T), Is.EqualTo(f.Loss).Within(1e-5 * f.Loss), "loss");
    }

    [TestCase("llama")]
    [TestCase("qwen2")]
    [TestCase("qwen3")]
    public void EveryParameterGradientMatches(string name)
    {
        var (model, f) = Load(name);
        using var _ = model;
        model.ZeroGradients();
        model.Forward(f.X, f.Y, f.B, f.T);
        model.Backward();
        var grads = model.ReadGradients();
        // Per tensor, normalised by its largest gradient (as for GPT-2): reordered fp32 sums differ
        // by ~1e-6 of the scale; a missing or doubled term is of order 1.
        foreach (var e in model.Layout.Entries)
            Check.Close($"{name} grad {e.Name}", grads.AsSpan((int)e.Offset, (int)e.Count), f.Grads.AsSpan((int)e.Offset, (int)e.Count), rtol: 5e-5);
    }

    [TestCase("llama")]
    [TestCase("qwen2")]
    [TestCase("qwen3")]
    public void TenAdamWStepsMatch(string name)
    {
        var (model, f) = Load(name);
        using var _ = model;
        for (int step = 0; step < f.Losses.Length; step++)
        {
            model.ZeroGradients();
            float loss = model.Forward(f.X, f.Y, f.B, f.T);
            model.Backward();
            double norm = model.Update(f.Lr, f.Adam);
            // fp32 drift accumulates over the steps (~1e-6 relative each); a wrong optimizer detail
            // (decay on a norm, clipping, bias correction) is off by orders of magnitude more.
            Assert.That(loss, Is.EqualTo(f.Losses[step]).Within(1e-4 * f.Losses[step]), $"{name} loss at step {step}");
            Assert.That(norm, Is.EqualTo(f.GradNorms[step]).Within(1e-4 * f.GradNorms[step]), $"{name} grad norm at step {step}");
        }
        Check.Close($"{name} weights after 10 steps", model.ReadParameters(), f.After, rtol: 1e-4);
    }

    [TestCase("llama")]
    [TestCase("qwen2")]
    [TestCase("qwen3")]
    public void KvCacheLogitsEqualFullPrefixLogits(string name)
    {
        var (model, f) = Load(name);
        using var _ = model;
        int T = f.T, V = model.Config.VocabSize;
        var row = f.X.AsSpan(0, T).ToArray();
        model.Forward(row, [], 1, T);
        var full = new float[T * V];
        model.Backend.Download(model.Logits, full);
        using var decoder = model.CreateDecoder(1);
        var last = new float[V];
        decoder.Feed(row.AsSpan(0, 5), 5, last);   // a prefill of 5, then one token at a time
        Check.Close("prefill", last, full.AsSpan(4 * V, V), rtol: 1e-5);
        for (int t = 5; t < T; t++)
        {
            decoder.Feed(row.AsSpan(t, 1), 1, last);
            Check.Close($"{name} decoded position {t}", last, full.AsSpan(t * V, V), rtol: 1e-5);
        }
    }

    [TestCase("qwen2")]
    public void BatchedDecodingEqualsFullPrefixLogits(string name)
    {
        var (model, f) = Load(name);
        using var _ = model;
        int T = f.T, V = model.Config.VocabSize, B = f.B;
        model.Forward(f.X, [], B, T);
        var full = new float[B * T * V];
        model.Backend.Download(model.Logits, full);
        using var decoder = model.CreateDecoder(B);
        var last = new float[B * V];
        var prompt = new int[B * 3];
        for (int b = 0; b < B; b++) f.X.AsSpan(b * T, 3).CopyTo(prompt.AsSpan(b * 3));
        decoder.Feed(prompt, 3, last);
        for (int t = 3; t < T; t++)
        {
            var step = new int[B];
            for (int b = 0; b < B; b++) step[b] = f.X[b * T + t];
            decoder.Feed(step, 1, last);
            for (int b = 0; b < B; b++)
                Check.Close($"row {b} position {t}", last.AsSpan(b * V, V), full.AsSpan((b * T + t) * V, V), rtol: 1e-5);
        }
    }

    [TestCase("llama", "llama")]
    [TestCase("llama_bf16", "llama")]
    [TestCase("llama_sharded", "llama")]
    [TestCase("qwen2", "qwen2")]
    [TestCase("qwen2_bf16", "qwen2")]
    [TestCase("qwen3", "qwen3")]
    [TestCase("qwen3_bf16", "qwen3")]
    public void HeldOutLossMatchesPyTorch(string folder, string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Dir("expected.json")));
        var expected = doc.RootElement.GetProperty(name).GetProperty(folder.EndsWith("_bf16") ? "loss_bf16" : "loss_f32").GetDouble();
        int T = doc.RootElement.GetProperty("seq").GetInt32();
        var bytes = File.ReadAllBytes(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "hf_eval.txt"));
        var (model, _) = Checkpoint.Load(Dir(folder), BackendRegistry.Create(backendName));
        using var m = model;
        double sum = 0;
        int windows = 0;
        for (int k = 0; (k + 1) * T + 1 <= bytes.Length; k++, windows++)
        {
            var x = bytes.AsSpan(k * T, T).ToArray().Select(b => (int)b).ToArray();
            var y = bytes.AsSpan(k * T + 1, T).ToArray().Select(b => (int)b).ToArray();
            sum += model.Forward(x, y, 1, T);
        }
        // The acceptance bound: 1e-4 relative to PyTorch's float64 loss of the same stored weights.
        Assert.That(sum / windows, Is.EqualTo(expected).Within(1e-4 * expected), $"{folder}: held-out loss over {windows} windows");
    }
}
