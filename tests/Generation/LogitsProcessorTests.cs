using Hyper.Runtime.Generation;
using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Generation;

/// <summary>The penalties and bans, each against its definition on hand-built logits and contexts.</summary>
public class LogitsProcessorTests
{
    [Test]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfContextTokens()
    {
        float[] logits = [2f, -1f, 0.5f, 3f, 0f];
        // Token 1 occurs twice but is penalised once; 0 (prompt) and 4 (generated, logit 0) count too; 2 and 3 are absent.
        float[] result = Logits.Apply(new RepetitionPenaltyProcessor(2), logits, prompt: [0, 1], generated: [1, 4]);
        Assert.That(result, Is.EqualTo(new[] { 1f, -2f, 0.5f, 3f, 0f }));
    }

    [Test]
    public void RepetitionPenaltyBelowOneFavoursRepeats()
    {
        float[] result = Logits.Apply(new RepetitionPenaltyProcessor(0.5), [2f, -1f, 1f], prompt: [0, 1]);
        Assert.That(result, Is.EqualTo(new[] { 4f, -0.5f, 1f }));
    }

    [Test]
    public void FrequencyAndPresencePenaltiesCountGeneratedTokensOnly()
    {
        float[] logits = [1f, 1f, 1f, 1f];
        // Generated: 0 twice, 1 once. Token 2 is only in the prompt, so it is not penalised.
        float[] result = Logits.Apply(new FrequencyPresencePenaltyProcessor(frequency: 0.5, presence: 1), logits, prompt: [2, 2], generated: [0, 1, 0]);
        Assert.That(result, Is.EqualTo(new[] { 1f - (0.5f * 2 + 1), 1f - (0.5f + 1), 1f, 1f }));
        float[] frequencyOnly = Logits.Apply(new FrequencyPresencePenaltyProcessor(0.25, 0), logits, generated: [3, 3, 3]);
        Assert.That(frequencyOnly, Is.EqualTo(new[] { 1f, 1f, 1f, 0.25f }));
        float[] presenceOnly = Logits.Apply(new FrequencyPresencePenaltyProcessor(0, 2), logits, generated: [3, 3, 3]);
        Assert.That(presenceOnly, Is.EqualTo(new[] { 1f, 1f, 1f, -1f }));
    }

    [Test]
    public void NoRepeatNgramBansTokensThatWouldCompleteAnEarlierNgram()
    {
        float[] logits = new float[10];
        // n = 3: the last two tokens (5, 6) occurred before, followed by 7: only 7 is banned.
        Assert.That(Logits.Kept(Logits.Apply(new NoRepeatNgramProcessor(3), logits, prompt: [5, 6, 7], generated: [5, 6])),
            Is.EqualTo(Enumerable.Range(0, 10).Except([7]).ToArray()));
        // n = 2: token 1 was followed by 2 and by 3 (across prompt and generated text).
        Assert.That(Logits.Kept(Logits.Apply(new NoRepeatNgramProcessor(2), logits, prompt: [1, 2, 1], generated: [3, 1])),
            Is.EqualTo(Enumerable.Range(0, 10).Except([2, 3]).ToArray()));
        // n = 1: every token already in the context.
        Assert.That(Logits.Kept(Logits.Apply(new NoRepeatNgramProcessor(1), logits, prompt: [4], generated: [8, 4])),
            Is.EqualTo(Enumerable.Range(0, 10).Except([4, 8]).ToArray()));
        // A fresh prefix bans nothing, and neither does a context shorter than n − 1.
        Assert.That(Logits.Kept(Logits.Apply(new NoRepeatNgramProcessor(3), logits, prompt: [5, 6, 7], generated: [6, 5])), Has.Length.EqualTo(10));
        Assert.That(Logits.Kept(Logits.Apply(new NoRepeatNgramProcessor(4), logits, prompt: [5, 5])), Has.Length.EqualTo(10));
    }

    [Test]
    public void NoRepeatNgramKeepsEveryNgramOfAGreedyRunUnique()
    {
        // A "model" that always prefers token 0, then 1, ...: with n = 2 greedy decoding must keep moving on.
        var sampler = new Sampler(SamplingSettings.Greedy with { NoRepeatNgramSize = 2 });
        var context = new DecodingContext([0]);
        float[] logits = Enumerable.Range(0, 6).Select(i => (float)(10 - i)).ToArray();
        for (int step = 0; step < 20; step++)
        {
            if (sampler.Next(logits, context, new Hyper.Runtime.Rng(1)) is not { } t) break;
            context.Append(t.Id);
        }
        var tokens = context.Tokens.ToArray();
        var bigrams = Enumerable.Range(0, tokens.Length - 1).Select(i => (tokens[i], tokens[i + 1])).ToList();
        Assert.That(bigrams, Is.Unique);
    }

    [Test]
    public void CitationBlockerBansEveryContinuationOfTheLastFiveGeneratedTokens()
    {
        var index = TokenIndex.FromDocuments([[10, 11, 12, 13, 14, 15, 20], [9, 10, 11, 12, 13, 14, 16], [11, 12, 13, 14, 17]]);
        var blocker = new CitationBlocker(index, window: 5);
        float[] logits = new float[30];
        // The last 5 generated tokens occur twice, followed by 15 and 16; 17 follows only a 4-token suffix.
        Assert.That(Logits.Kept(Logits.Apply(blocker, logits, prompt: [1], generated: [3, 10, 11, 12, 13, 14])),
            Is.EqualTo(Enumerable.Range(0, 30).Except([15, 16]).ToArray()));
        // Four generated tokens are not enough, even if the prompt completes the run.
        Assert.That(Logits.Kept(Logits.Apply(blocker, logits, prompt: [10], generated: [11, 12, 13, 14])), Has.Length.EqualTo(30));
        // A run absent from the corpus bans nothing.
        Assert.That(Logits.Kept(Logits.Apply(blocker, logits, generated: [10, 11, 12, 13, 15])), Has.Length.EqualTo(30));
    }

    [Test]
    public void PipelineAppliesTheStepsInTheDocumentedOrder()
    {
        var all = LogitsPipeline.Create(new SamplingSettings
        {
            Temperature = 0.7,
            TopK = 50,
            TopP = 0.9,
            MinP = 0.05,
            TypicalP = 0.95,
            RepetitionPenalty = 1.2,
            FrequencyPenalty = 0.1,
            PresencePenalty = 0.1,
            NoRepeatNgramSize = 3,
            CitationIndex = new TokenIndex([1, 2, 3]),
        });
        Assert.That(all.Processors.Select(p => p.GetType()), Is.EqualTo(new[]
        {
            typeof(RepetitionPenaltyProcessor), typeof(FrequencyPresencePenaltyProcessor), typeof(NoRepeatNgramProcessor), typeof(CitationBlocker),
            typeof(TemperatureProcessor), typeof(TopKFilter), typeof(TopPFilter), typeof(MinPFilter), typeof(TypicalPFilter),
        }));
        // Greedy drops the sampling steps; defaults switch every step off.
        Assert.That(LogitsPipeline.Create(SamplingSettings.Greedy with { RepetitionPenalty = 1.3 }).Processors.Select(p => p.GetType()),
            Is.EqualTo(new[] { typeof(RepetitionPenaltyProcessor) }));
        Assert.That(LogitsPipeline.Create(new SamplingSettings()).Processors, Is.Empty);
    }
}
