using Hyper.Runtime.Data;

namespace Hyper.Tests.Data;

public class DataSplitTests
{
    private static readonly int[] Tokens = Enumerable.Range(0, 100).ToArray();

    [Test]
    public void Validation_is_the_last_fraction()
    {
        var (train, val) = DataSplit.Split(Tokens, 0.1, minLength: 5);
        Assert.That(train, Is.EqualTo(Tokens[..90]));
        Assert.That(val, Is.EqualTo(Tokens[90..]));
    }

    [Test]
    public void Zero_fraction_gives_no_validation()
    {
        var (train, val) = DataSplit.Split(Tokens, 0, minLength: 5);
        Assert.That(train, Is.EqualTo(Tokens));
        Assert.That(val, Is.Empty);
    }

    [Test]
    public void Too_short_validation_names_the_sizes()
    {
        var e = Assert.Throws<ArgumentException>(() => DataSplit.Split(Tokens, 0.05, minLength: 9));
        Assert.That(e!.Message, Does.Contain("validation").And.Contain("5 tokens").And.Contain("9"));
    }

    [Test]
    public void Too_short_training()
    {
        var e = Assert.Throws<ArgumentException>(() => DataSplit.Split(Tokens, 0.5, minLength: 65));
        Assert.That(e!.Message, Does.Contain("training").And.Contain("50 tokens").And.Contain("65"));
    }

    [TestCase(-0.1)]
    [TestCase(1.0)]
    [TestCase(double.NaN)]
    public void Fraction_out_of_range(double f) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSplit.Split(Tokens, f));
}
