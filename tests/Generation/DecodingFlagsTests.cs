using Hyper.Runtime.Generation;
using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Generation;

/// <summary>Decoding specs and flags: parsing, defaults, contradictions.</summary>
public class DecodingFlagsTests
{
    private static SamplingSettings Resolve(string spec) => DecodingFlags.ParseSpec(spec).Resolve(_ => new TokenIndex([1, 2, 3]), prefix: "");

    [Test]
    public void PaperBaselinesParse()
    {
        Assert.That(Resolve("greedy").IsGreedy, Is.True);
        var topP = Resolve("top-p=0.9,temperature=0.7,top-k=50");
        Assert.That((topP.TopP, topP.Temperature, topP.TopK), Is.EqualTo((0.9, 0.7, 50)));
        var blocked = Resolve("greedy, block-citations=train.txt");
        Assert.That(blocked.IsGreedy, Is.True);
        Assert.That(blocked.CitationIndex, Is.Not.Null);
    }

    [Test]
    public void SamplingStartsAtTemperatureOneWhenOnlyAFilterIsGiven()
    {
        Assert.That(Resolve("top-p=0.9").Temperature, Is.EqualTo(1));
        Assert.That(Resolve("min-p=0.1").Temperature, Is.EqualTo(1));
        Assert.That(Resolve("temperature=0.8").Temperature, Is.EqualTo(0.8));
    }

    [Test]
    public void NothingOrTemperatureZeroIsGreedy()
    {
        Assert.That(new DecodingFlags().Resolve().IsGreedy, Is.True);
        Assert.That(Resolve("repetition-penalty=1.3").IsGreedy, Is.True);
        Assert.That(Resolve("temperature=0").IsGreedy, Is.True);
        Assert.That(Resolve("greedy,temperature=0").IsGreedy, Is.True);
        // A filter at its off value is no sampling request.
        Assert.That(Resolve("greedy,top-p=1").IsGreedy, Is.True);
    }

    [TestCase("greedy,temperature=0.7", "greedy contradicts temperature 0.7")]
    [TestCase("greedy,top-p=0.9", "top-p has no effect with greedy")]
    [TestCase("temperature=0,top-k=5", "top-k has no effect with greedy")]
    [TestCase("top-p=1.5", "top-p 1.5 is outside (0, 1]")]
    [TestCase("top-p=0", "top-p 0 is outside (0, 1]")]
    [TestCase("min-p=2", "min-p 2 is outside [0, 1]")]
    [TestCase("temperature=-1", "temperature -1")]
    [TestCase("repetition-penalty=0", "repetition-penalty 0")]
    [TestCase("top-k=-3", "top-k -3")]
    [TestCase("top-q=0.5", "unknown key 'top-q'")]
    [TestCase("top-p=0.9,top-p=0.8", "'top-p' is given twice")]
    [TestCase("top-p=abc", "'abc' is not a number")]
    [TestCase("top-k=2.5", "not an integer")]
    [TestCase("top-p", "'top-p' needs a value")]
    [TestCase("greedy=1", "'greedy' takes no value")]
    [TestCase("greedy,,top-k=3", "empty item")]
    public void BadSpecsAreRefusedWithTheirReason(string spec, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Resolve(spec));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void FlagNamesCarryThePrefix()
    {
        var e = Assert.Throws<ArgumentException>(() => new DecodingFlags { Greedy = true, Temperature = 0.5 }.Resolve());
        Assert.That(e!.Message, Does.Contain("--greedy contradicts --temperature 0.5"));
        e = Assert.Throws<ArgumentException>(() => new DecodingFlags { TopP = 2 }.Resolve());
        Assert.That(e!.Message, Does.Contain("--top-p 2 is outside"));
    }
}
