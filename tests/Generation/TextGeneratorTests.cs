using Hyper.Runtime.Backends;
using Hyper.Runtime.Generation;
using Hyper.Runtime.Metrics;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;

namespace Hyper.Tests.Generation;

/// <summary>The generator on a tiny model: against full-prefix recomputation, seeds, batching, stops, the citation blocker, the context.</summary>
public class TextGeneratorTests
{
    // The decoder's cached attention and the full forward sum in different orders: logits agree to ~1e-5,
    // and 1e-3 still separates a real choice from a near-tie.
    private const double LogitTolerance = 1e-3;

    private IBackend _backend = null!;
    private Gpt2 _model = null!;
    private readonly ITokenizer _byte = Tokenizers.Create("byte");
    private TextGenerator _generator = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _backend = BackendRegistry.Create("cpu");
        _model = TinyModel.Create(_backend);
        _generator = new TextGenerator(_model, _byte);
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _model.Dispose();
        _backend.Dispose();
    }

    private static readonly SamplingSettings Sampling = new() { Temperature = 1, TopK = 40 };

    private IReadOnlyList<GenerationResult> Run(SamplingSettings sampling, int maxNew, params string[] prompts) =>
        _generator.Generate(prompts, sampling, new GenerationOptions { MaxNewTokens = maxNew, Seed = 11 });

    /// <summary>
    /// Checks every generated token against a full forward pass over the window the decoder held when it was
    /// chosen: greedy picked a maximal logit, and the recorded log-probability and entropy are the raw ones.
    /// </summary>
    private void CheckAgainstFullForward(GenerationResult g, bool greedy, int slideKeep = 0)
    {
        int[] all = [.. g.PromptTokens, .. g.TokenIds];
        int tp = g.PromptTokens.Length, context = _model.Config.NPositions, start = 0, position = tp;
        for (int j = 0; j < g.Tokens.Count; j++)
        {
            float[] logits = TinyModel.LastLogits(_model, all[start..(tp + j)]);
            double[] p = Logits.Softmax(logits);
            var t = g.Tokens[j];
            if (greedy) Assert.That(logits[t.Id], Is.GreaterThanOrEqualTo(logits.Max() - LogitTolerance), $"token {j} is the argmax");
            Assert.That(t.LogProb, Is.EqualTo(Math.Log(p[t.Id])).Within(LogitTolerance), $"token {j} log-probability");
            Assert.That(t.Entropy, Is.EqualTo(-p.Where(x => x > 0).Sum(x => x * Math.Log(x))).Within(LogitTolerance), $"token {j} entropy");
            // Mirror the decoder's cache: feeding token j takes one position, or, when full, a refill with the last keep tokens.
            if (position < context) position++;
            else { start = tp + j + 1 - slideKeep; position = slideKeep; }
        }
    }

    [Test]
    public void GreedyOutputMatchesFullPrefixRecomputation()
    {
        var results = Run(SamplingSettings.Greedy, 40, "Call me Ishmael.", "It was the best of times");
        Assert.That(results.Select(g => g.Tokens.Count), Is.All.EqualTo(40));
        foreach (var g in results) CheckAgainstFullForward(g, greedy: true);
    }

    [Test]
    public void SampledTokensCarryTheRawStatistics()
    {
        foreach (var g in Run(Sampling with { Temperature = 0.7, RepetitionPenalty = 1.3 }, 24, "Some years ago")) CheckAgainstFullForward(g, greedy: false);
    }

    [Test]
    public void TemperatureZeroIsGreedyWhateverTheSeed()
    {
        var a = _generator.Generate(["Hello there"], new SamplingSettings { Temperature = 0 }, new GenerationOptions { MaxNewTokens = 20, Seed = 1 });
        var b = _generator.Generate(["Hello there"], SamplingSettings.Greedy, new GenerationOptions { MaxNewTokens = 20, Seed = 99 });
        Assert.That(a[0].TokenIds, Is.EqualTo(b[0].TokenIds));
    }

    [Test]
    public void SameSeedReproducesTheOutputExactly()
    {
        var options = new GenerationOptions { MaxNewTokens = 32, Seed = 5 };
        var a = _generator.Generate(["Hello there", "General Kenobi"], Sampling, options);
        var b = _generator.Generate(["Hello there", "General Kenobi"], Sampling, options);
        var c = _generator.Generate(["Hello there", "General Kenobi"], Sampling, options with { Seed = 6 });
        Assert.That(b.Select(g => g.TokenIds), Is.EqualTo(a.Select(g => g.TokenIds)));
        Assert.That(b.Select(g => g.Text), Is.EqualTo(a.Select(g => g.Text)));
        Assert.That(b.SelectMany(g => g.Tokens.Select(t => t.LogProb)), Is.EqualTo(a.SelectMany(g => g.Tokens.Select(t => t.LogProb))));
        Assert.That(c[0].TokenIds, Is.Not.EqualTo(a[0].TokenIds), "another seed gives another sample");
        Assert.That(a[1].TokenIds, Is.Not.EqualTo(a[0].TokenIds), "each prompt has its own stream");
    }

    [Test]
    public void BatchedPromptsMatchPromptsRunAlone()
    {
        string[] prompts = ["abcdefgh", "12345678", "Moby Dick", "ABCDEFGH"]; // three of 8 tokens share a batch
        var options = new GenerationOptions { MaxNewTokens = 24, Seed = 3 };
        var batched = _generator.Generate(prompts, Sampling, options with { MaxBatch = 8 });
        var alone = _generator.Generate(prompts, Sampling, options with { MaxBatch = 1 });
        Assert.That(batched.Select(g => g.PromptIndex), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(batched.Select(g => g.TokenIds), Is.EqualTo(alone.Select(g => g.TokenIds)));
        for (int i = 0; i < prompts.Length; i++)
            Assert.That(batched[i].Tokens.Select(t => t.LogProb), Is.EqualTo(alone[i].Tokens.Select(t => t.LogProb)).Within(1e-4));
    }

    [Test]
    public void StopStringCutsTheText()
    {
        var options = new GenerationOptions { MaxNewTokens = 48, Seed = 2 };
        var full = _generator.Generate(["The sea"], Sampling, options)[0];
        string text = full.Text;
        Assume.That(text.Length, Is.GreaterThan(12));
        string stop = text.Substring(8, 3);
        int at = text.IndexOf(stop, StringComparison.Ordinal);
        var cut = _generator.Generate(["The sea"], Sampling, options with { StopStrings = [stop] })[0];
        Assert.That(cut.Text, Is.EqualTo(text[..at]));
        Assert.That(cut.FinishReason, Is.EqualTo(FinishReason.Stop));
        Assert.That(cut.Tokens.Count, Is.LessThan(full.Tokens.Count));
        Assert.That(cut.TokenIds, Is.EqualTo(full.TokenIds[..cut.Tokens.Count]), "the tokens up to the stop are the same");
    }

    [Test]
    public void StreamedPiecesMakeUpTheText()
    {
        var pieces = new Dictionary<int, string>();
        var results = _generator.Generate(["one", "two two", "three"], Sampling, new GenerationOptions { MaxNewTokens = 20, Seed = 4 },
            onText: (i, piece) => pieces[i] = pieces.GetValueOrDefault(i, "") + piece);
        foreach (var g in results)
        {
            Assert.That(pieces.GetValueOrDefault(g.PromptIndex, ""), Is.EqualTo(g.Text));
            Assert.That(g.Text, Is.EqualTo(_byte.Decode(g.TokenIds)));
        }
    }

    [Test]
    public void CitationBlockerStopsTheModelCopyingItsTrainingText()
    {
        // The model was overfitted on this passage: unblocked, its greedy output copies long runs of it.
        var index = new TokenIndex(_byte.Encode(TinyModel.TrainingText));
        var copied = Run(SamplingSettings.Greedy, 40, "During these")[0];
        Assert.That(TextMetrics.LongestSharedRun(copied.TokenIds, index), Is.GreaterThan(10), "the test needs a model that copies");

        var blocked = Run(SamplingSettings.Greedy with { CitationIndex = index }, 40, "During these")[0];
        int[] ids = blocked.TokenIds;
        Assert.That(ids[..5], Is.EqualTo(copied.TokenIds[..5]), "nothing is blocked before 5 tokens are generated");
        Assert.That(ids, Is.Not.EqualTo(copied.TokenIds));
        Assert.That(TextMetrics.LongestSharedRun(ids, index), Is.LessThanOrEqualTo(5), "no 6 generated tokens in a row come from the training text");
        for (int j = 5; j < ids.Length; j++)
            Assert.That(index.Continuations(ids.AsSpan(j - 5, 5)), Does.Not.Contain(ids[j]), $"token {j} continues a training run");
    }

    [Test]
    public void PromptPlusNewTokensBeyondTheContextIsAnError()
    {
        string prompt = new('a', 40);
        var e = Assert.Throws<ArgumentException>(() => Run(SamplingSettings.Greedy, 30, prompt));
        Assert.That(e!.Message, Does.Contain("40 tokens").And.Contain("70").And.Contain("context of 64"));
        Assert.That(Run(SamplingSettings.Greedy, 24, prompt)[0].Tokens, Has.Count.EqualTo(24), "exactly filling the context is fine");
    }

    [Test]
    public void PromptLongerThanTheContextIsAlwaysAnError()
    {
        var options = new GenerationOptions { MaxNewTokens = 4, SlidingWindow = true };
        var e = Assert.Throws<ArgumentException>(() => _generator.Generate(["short", new string('a', 65)], SamplingSettings.Greedy, options));
        Assert.That(e!.Message, Does.Contain("prompt 2 of 2 has 65 tokens"));
    }

    [Test]
    public void EmptyPromptIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => Run(SamplingSettings.Greedy, 4, ""));
        Assert.That(e!.Message, Does.Contain("empty"));
    }

    [Test]
    public void SlidingWindowGoesOnPastTheContext()
    {
        var g = _generator.Generate(["Call me Ishmael."], SamplingSettings.Greedy, new GenerationOptions { MaxNewTokens = 120, SlidingWindow = true })[0];
        Assert.That(g.Tokens, Has.Count.EqualTo(120));
        // Every token, including those after each refill with the last 32 tokens, matches a full forward over that window.
        CheckAgainstFullForward(g, greedy: true, slideKeep: _model.Config.NPositions / 2);
    }

    [Test]
    public void EndOfTextEndsTheGenerationUnlessIgnored()
    {
        var free = Run(SamplingSettings.Greedy, 30, "During these")[0];
        int end = free.TokenIds[10];
        int first = Array.IndexOf(free.TokenIds, end);
        var generator = new TextGenerator(_model, new EndOfTextTokenizer(end));
        var options = new GenerationOptions { MaxNewTokens = 30 };
        var stopped = generator.Generate(["During these"], SamplingSettings.Greedy, options)[0];
        Assert.That(stopped.FinishReason, Is.EqualTo(FinishReason.EndOfText));
        Assert.That(stopped.TokenIds, Is.EqualTo(free.TokenIds[..first]), "the end-of-text token itself is not recorded");
        var ignored = generator.Generate(["During these"], SamplingSettings.Greedy, options with { StopAtEndOfText = false })[0];
        Assert.That(ignored.TokenIds, Is.EqualTo(free.TokenIds));
    }

    [Test]
    public void ZeroNewTokensGivesEmptyGenerations()
    {
        var g = Run(SamplingSettings.Greedy, 0, "abc")[0];
        Assert.That(g.Tokens, Is.Empty);
        Assert.That(g.Text, Is.Empty);
        Assert.That(g.FinishReason, Is.EqualTo(FinishReason.Length));
    }
}
