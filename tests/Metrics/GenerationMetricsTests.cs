using System.Text.Json.Nodes;
using Hyper.Runtime.Generation;
using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Metrics;

public class GenerationMetricsTests
{
    private static readonly int[][] Generations = [[1, 2, 3, 4, 1, 2, 3, 4], [1, 2, 3, 5], []];

    private static GenerationMetrics Full()
    {
        var stats = new TokenStats();
        stats.Add(0.5, 0.75);
        stats.Add(1.5, 0.25);
        var index = new TokenIndex([9, 1, 2, 3, 9, 4, 1, 2]);
        return GenerationMetrics.Compute(Generations, stats, index, perplexity: 12.5);
    }

    [Test]
    public void Of_results_pools_the_recorded_token_statistics()
    {
        // Two results whose tokens carry entropy 0.5/1.5 and top-1 0.75/0.25: the same row as Compute with those stats.
        GenerationResult Result(int i, int[] ids, (double Entropy, double Top1)[] stats) => new()
        {
            PromptIndex = i, PromptTokens = [0], Prompt = "p", Text = "t", FinishReason = FinishReason.Length,
            Tokens = ids.Select((id, k) => new GeneratedToken(id, -1.0, stats[k].Entropy, stats[k].Top1)).ToList(),
        };
        var results = new[] { Result(0, [1, 2], [(0.5, 0.75), (1.5, 0.25)]), Result(1, [3], [(1.0, 0.5)]) };
        var index = new TokenIndex([1, 2, 9]);
        var m = GenerationMetrics.Of(results, index, perplexity: 3.0);
        var stats = new TokenStats();
        stats.Add(0.5, 0.75);
        stats.Add(1.5, 0.25);
        stats.Add(1.0, 0.5);
        Assert.That(m.ToJson(), Is.EqualTo(GenerationMetrics.Compute([[1, 2], [3]], stats, index, 3.0).ToJson()));
        Assert.That(m.MeanEntropy, Is.EqualTo(1.0).Within(1e-15));
        Assert.That(m.OverlapMax, Is.EqualTo(2));
    }

    [Test]
    public void Every_field_from_its_metric()
    {
        var m = Full();
        Assert.That(m.Generations, Is.EqualTo(3));
        Assert.That(m.MeanLength, Is.EqualTo(4.0));
        // TTR: 4/8 and 4/4, the empty generation has none.
        Assert.That(m.Ttr, Is.EqualTo(75.0));
        Assert.That(m.Distinct1, Is.EqualTo(5.0 / 12).Within(1e-15));
        // Bigrams 12 23 34 41 12 23 34 | 12 23 35: distinct 12 23 34 41 35.
        Assert.That(m.Distinct2, Is.EqualTo(5.0 / 10).Within(1e-15));
        Assert.That(m.SelfBleu, Is.EqualTo(TextMetrics.SelfBleu(Generations)).Within(1e-15));
        // 4-grams: 1234 2341 3412 4123 1234 → 1/5; 1235 → 0; the empty one has none.
        Assert.That(m.Repeated4gram, Is.EqualTo(0.1).Within(1e-15));
        // Runs: [1 2 3] and then "4 1 2" → 3, 3, and 0 for the empty generation.
        Assert.That(m.OverlapMean, Is.EqualTo(2.0));
        Assert.That(m.OverlapMax, Is.EqualTo(3));
        Assert.That(m.MeanEntropy, Is.EqualTo(1.0));
        Assert.That(m.MeanTop1, Is.EqualTo(0.5));
        Assert.That(m.Perplexity, Is.EqualTo(12.5));
    }

    [Test]
    public void Unmeasured_and_undefined_values_are_null()
    {
        var m = GenerationMetrics.Compute([[1, 2]]);
        Assert.That(m.Ttr, Is.EqualTo(100));
        Assert.That(m.SelfBleu, Is.Null, "one generation has no Self-BLEU");
        Assert.That(m.Repeated4gram, Is.Null, "two tokens have no 4-gram");
        Assert.That(m.OverlapMean, Is.Null);
        Assert.That(m.OverlapMax, Is.Null);
        Assert.That(m.MeanEntropy, Is.Null);
        Assert.That(m.Perplexity, Is.Null);

        var empty = GenerationMetrics.Compute([]);
        Assert.That(empty.Generations, Is.EqualTo(0));
        Assert.That(empty.Ttr, Is.Null);
        Assert.That(empty.Distinct1, Is.Null);
        Assert.That(GenerationMetrics.Compute([], new TokenStats()).MeanTop1, Is.Null, "no tokens recorded");
    }

    [Test]
    public void Json_names_are_snake_case_and_round_trip()
    {
        var m = Full();
        var keys = JsonNode.Parse(m.ToJson())!.AsObject().Select(p => p.Key);
        Assert.That(keys, Is.EqualTo(new[]
        {
            "generations", "mean_length", "ttr", "distinct1", "distinct2", "self_bleu", "repeated_4gram",
            "overlap_mean", "overlap_max", "mean_entropy", "mean_top1", "perplexity",
        }));
        Assert.That(GenerationMetrics.FromJson(m.ToJson()), Is.EqualTo(m));
        var sparse = GenerationMetrics.Compute([[1, 2]]);
        Assert.That(GenerationMetrics.FromJson(sparse.ToJson()), Is.EqualTo(sparse));
        Assert.That(JsonNode.Parse(sparse.ToJson())!["perplexity"], Is.Null);
    }

    [Test]
    public void Text_table_is_aligned_with_dashes_for_missing()
    {
        var rows = new List<(string, GenerationMetrics)> { ("original greedy", Full()), ("hf", GenerationMetrics.Compute([[1, 2]])) };
        string text = MetricsTable.ToText(rows);
        TestContext.Out.WriteLine(text);
        string[] lines = text.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(lines.Select(l => l.Length).Distinct().Count(), Is.EqualTo(1), "every line the same width");
        Assert.That(lines[0], Does.StartWith("model").And.Contain("TTR").And.Contain("self-BLEU"));
        Assert.That(lines[1], Does.Match("^-+$"));
        Assert.That(lines[2], Does.StartWith("original greedy").And.Contain("75.0").And.EndWith("12.50"));
        Assert.That(lines[3], Does.StartWith("hf ").And.Contain("100.0").And.EndWith("-"));
    }

    [Test]
    public void Csv_has_json_names_and_quotes_labels()
    {
        var rows = new List<(string, GenerationMetrics)> { ("top-p 0.9, t 0.7", Full()), ("say \"hi\"", GenerationMetrics.Compute([[1, 2]])) };
        string[] lines = MetricsTable.ToCsv(rows).TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("label,generations,mean_length,ttr,distinct1,distinct2,self_bleu,repeated_4gram,overlap_mean,overlap_max,mean_entropy,mean_top1,perplexity"));
        Assert.That(lines[1], Does.StartWith("\"top-p 0.9, t 0.7\",3,4,75,").And.EndWith(",2,3,1,0.5,12.5"));
        Assert.That(lines[2], Does.StartWith("\"say \"\"hi\"\"\",1,2,100,1,1,,,,,,,"));
    }

    [Test]
    public void Json_table_puts_the_label_first()
    {
        var rows = new List<(string, GenerationMetrics)> { ("a", Full()), ("b", GenerationMetrics.Compute([[1, 2]])) };
        var array = JsonNode.Parse(MetricsTable.ToJson(rows))!.AsArray();
        Assert.That(array, Has.Count.EqualTo(2));
        Assert.That(array[0]!.AsObject().First().Key, Is.EqualTo("label"));
        Assert.That((string?)array[1]!["label"], Is.EqualTo("b"));
        Assert.That((double?)array[0]!["ttr"], Is.EqualTo(75.0));
        Assert.That(array[1]!["self_bleu"], Is.Null);
    }
}
