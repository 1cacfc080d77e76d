using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;
using Hyper.Tests.Support;

namespace Hyper.Tests.Models;

/// <summary>
/// The KV-cached decoder against recomputing the whole prefix with <see cref="Gpt2.Forward"/>, on
/// the tiny preset and both host backends: single steps at several lengths, prefill plus steps,
/// independent rows of a batch, and the end of the context.
/// </summary>
public class Gpt2DecoderTests
{
    private static readonly Gpt2Config Config = Gpt2Config.Tiny; // L=2, NH=2, C=64, maxT=64, V=256

    // On the reference backend both paths run the same scalar loops in the same order (the cached
    // keys are the same floats, each row's matmul and layernorm do not depend on the other rows),
    // so the logits agree bit for bit. On the CPU backend the full forward goes through the packed
    // GEMM and flash attention while the decoder uses the GEMV and the KV kernel: each product is
    // summed in another order (~√C·ε relative, C ≤ 256), a few ulp per layer. Measured ≤ 1.5e-6 of
    // the largest logit; 2e-5 leaves room, while a wrong position or a stale cache row changes the
    // logits by far more than 1e-3.
    private const double CpuRtol = 2e-5;

    private static IBackend Backend(string name) => BackendRegistry.Create(name);

    /// <summary>A tiny model with every parameter perturbed (nonzero biases, gains away from 1, larger weights) so attention is not near uniform.</summary>
    private static Gpt2 Model(IBackend backend)
    {
        var model = new Gpt2(Config, backend);
        model.InitializeWeights(11);
        float[] p = model.ReadParameters();
        var rng = new Rng(12);
        for (int i = 0; i < p.Length; i++) p[i] += (float)(0.1 * rng.NextNormal());
        model.LoadParameters(p);
        return model;
    }

    private static int[] Tokens(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        var t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.NextInt(Config.VocabSize);
        return t;
    }

    /// <summary>Logits [B,V] of each row's last position, recomputed from scratch over tokens [B,T].</summary>
    private static float[] FullForwardLastLogits(Gpt2 model, int[] tokens, int B, int T)
    {
        int V = Config.VocabSize;
        model.Forward(tokens, [], B, T);
        var all = new float[B * T * V];
        model.Backend.Download(model.Activations!.Logits, all);
        var last = new float[B * V];
        for (int b = 0; b < B; b++) all.AsSpan((b * T + T - 1) * V, V).CopyTo(last.AsSpan(b * V));
        return last;
    }

    private static void Same(string what, string backend, float[] actual, float[] expected)
    {
        if (backend == "reference") Assert.That(actual, Is.EqualTo(expected), what);
        else Check.Close(what, actual, expected, CpuRtol);
    }

    [TestCase("cpu")]
    [TestCase("reference")]
    public void StepByStepDecodingMatchesFullRecompute(string backend)
    {
        using var model = Model(Backend(backend));
        using var decoder = new Gpt2Decoder(model, 1);
        int[] tokens = Tokens(64, 1);
        var logits = new float[Config.VocabSize];
        int[] checkAt = [1, 2, 17, 64];
        for (int t = 0; t < 64; t++)
        {
            decoder.Feed(tokens.AsSpan(t, 1), 1, logits);
            Assert.That(decoder.Position, Is.EqualTo(t + 1));
            if (!checkAt.Contains(t + 1)) continue;
            Same($"logits after {t + 1} tokens", backend, logits, FullForwardLastLogits(model, tokens[..(t + 1)], 1, t + 1));
        }
        Assert.That(decoder.Fits(0), Is.True);
        Assert.That(decoder.Fits(1), Is.False, "the cache is full at n_positions");
    }

    [TestCase("cpu")]
    [TestCase("reference")]
    public void PrefillThenStepsEqualsOnePrefill(string backend)
    {
        using var model = Model(Backend(backend));
        int[] tokens = Tokens(2 * 30, 2); // two rows of 30
        const int B = 2, prompt = 23;
        int V = Config.VocabSize;

        // Row-major [B, n] slices of the two rows.
        int[] Rows(int start, int n)
        {
            var r = new int[B * n];
            for (int b = 0; b < B; b++) tokens.AsSpan(b * 30 + start, n).CopyTo(r.AsSpan(b * n));
            return r;
        }

        using var stepwise = new Gpt2Decoder(model, B);
        var a = new float[B * V];
        stepwise.Feed(Rows(0, prompt), prompt, a);
        Same("after the prefill", backend, a, FullForwardLastLogits(model, Rows(0, prompt), B, prompt));
        for (int t = prompt; t < 30; t++) stepwise.Feed(Rows(t, 1), 1, a);

        using var once = new Gpt2Decoder(model, B);
        var b2 = new float[B * V];
        once.Feed(Rows(0, 30), 30, b2);
        Assert.That(stepwise.Position, Is.EqualTo(30));
        Assert.That(once.Position, Is.EqualTo(30));
        Same("prefill + 7 steps vs one prefill of 30", backend, a, b2);
        Same("one prefill of 30 vs the full forward", backend, b2, FullForwardLastLogits(model, Rows(0, 30), B, 30));

        // A prefill in two uneven pieces lands on the same state too.
        using var pieces = new Gpt2Decoder(model, B);
        var c = new float[B * V];
        pieces.Feed(Rows(0, 5), 5, c);
        pieces.Feed(Rows(5, 25), 25, c);
        Same("prefill of 5 then 25", backend, c, b2);
    }

    [TestCase("cpu")]
    [TestCase("reference")]
    public void RowsOfABatchAreIndependent(string backend)
    {
        using var model = Model(Backend(backend));
        int V = Config.VocabSize;
        int[] row0 = Tokens(12, 3), row1 = Tokens(12, 4);
        using var pair = new Gpt2Decoder(model, 2);
        using var single0 = new Gpt2Decoder(model, 1);
        using var single1 = new Gpt2Decoder(model, 1);
        var both = new float[2 * V];
        var one0 = new float[V];
        var one1 = new float[V];
        // A prefill of 9, then three steps.
        pair.Feed([.. row0[..9], .. row1[..9]], 9, both);
        single0.Feed(row0.AsSpan(0, 9), 9, one0);
        single1.Feed(row1.AsSpan(0, 9), 9, one1);
        for (int t = 9; t < 12; t++)
        {
            pair.Feed([row0[t], row1[t]], 1, both);
            single0.Feed(row0.AsSpan(t, 1), 1, one0);
            single1.Feed(row1.AsSpan(t, 1), 1, one1);
        }
        Same("row 0 of the batch vs alone", backend, both[..V], one0);
        Same("row 1 of the batch vs alone", backend, both[V..], one1);
        Assert.That(both[..V], Is.Not.EqualTo(both[V..]), "different prompts give different logits");
    }

    [Test]
    public void FeedingPastTheContextThrowsAndResetStartsOver()
    {
        using var model = Model(new CpuBackend());
        using var decoder = new Gpt2Decoder(model, 1, maxT: 8);
        Assert.That(decoder.MaxT, Is.EqualTo(8));
        Assert.That(decoder.Batch, Is.EqualTo(1));
        int[] tokens = Tokens(9, 5);
        var logits = new float[Config.VocabSize];
        decoder.Feed(tokens.AsSpan(0, 6), 6, logits);
        Assert.That(decoder.Fits(2), Is.True);
        Assert.That(decoder.Fits(3), Is.False);
        var e = Assert.Throws<InvalidOperationException>(() => decoder.Feed(tokens.AsSpan(6, 3), 3, logits));
        Assert.That(e!.Message, Does.Contain("exceeds the context of 8 tokens"));
        Assert.That(decoder.Position, Is.EqualTo(6), "a refused feed changes nothing");
        decoder.Feed(tokens.AsSpan(6, 2), 2, logits);
        Assert.That(decoder.Position, Is.EqualTo(8));
        Assert.Throws<InvalidOperationException>(() => decoder.Feed(tokens.AsSpan(8, 1), 1, logits));

        // After a reset the cache starts over: the same tokens give the same logits as a new decoder.
        decoder.Reset();
        Assert.That(decoder.Position, Is.EqualTo(0));
        decoder.Feed(tokens.AsSpan(3, 4), 4, logits);
        using var fresh = new Gpt2Decoder(model, 1, maxT: 8);
        var expected = new float[Config.VocabSize];
        fresh.Feed(tokens.AsSpan(3, 4), 4, expected);
        Assert.That(logits, Is.EqualTo(expected));
    }

    [Test]
    public void RejectsBadArguments()
    {
        using var model = Model(new CpuBackend());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt2Decoder(model, 1, maxT: 65), "beyond n_positions");
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gpt2Decoder(model, 0));
        using var decoder = new Gpt2Decoder(model, 2);
        Assert.That(decoder.MaxT, Is.EqualTo(64), "maxT 0 means n_positions");
        var logits = new float[2 * Config.VocabSize];
        Assert.Throws<ArgumentException>(() => decoder.Feed(new int[3], 2, logits), "tokens not B·Tq");
        Assert.Throws<ArgumentException>(() => decoder.Feed(new int[2], 1, new float[Config.VocabSize]), "logits not B·V");
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Feed([1, 256], 1, logits), "token id beyond V");
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Feed([], 0, logits), "Tq = 0");
        Assert.That(decoder.Position, Is.EqualTo(0));
    }
}
