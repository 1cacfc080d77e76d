using Hyper.Runtime.Generation;

namespace Hyper.Tests.Generation;

/// <summary>Stop strings over streamed text: cut before the stop string, hold back only what could start one.</summary>
public class StopStringMatcherTests
{
    private static (string Shown, bool Stopped, List<string> Pieces) Stream(string[] stops, params string[] pieces)
    {
        var m = new StopStringMatcher(stops);
        var shown = new List<string>();
        foreach (string p in pieces) shown.Add(m.Push(p));
        shown.Add(m.Flush());
        return (string.Concat(shown), m.Stopped, shown);
    }

    [Test]
    public void TextIsCutBeforeTheStopString()
    {
        var (shown, stopped, _) = Stream(["\n\n"], "Hel", "lo\n", "\nWorld");
        Assert.That(shown, Is.EqualTo("Hello"));
        Assert.That(stopped, Is.True);
    }

    [Test]
    public void StopStringInsideOnePieceCutsThere()
    {
        var (shown, stopped, _) = Stream(["END"], "abcENDdef", "more");
        Assert.That(shown, Is.EqualTo("abc"));
        Assert.That(stopped, Is.True);
    }

    [Test]
    public void OnlyAPossibleStartIsHeldBack()
    {
        var (shown, stopped, pieces) = Stream(["\n\n"], "ab\n", "c");
        Assert.That(pieces[0], Is.EqualTo("ab"), "the newline might begin a stop string");
        Assert.That(pieces[1], Is.EqualTo("\nc"), "it did not: released with the next piece");
        Assert.That(shown, Is.EqualTo("ab\nc"));
        Assert.That(stopped, Is.False);
    }

    [Test]
    public void HeldBackTextIsReleasedAtTheEnd()
    {
        var (shown, stopped, _) = Stream(["STOP"], "abc", "ST");
        Assert.That(shown, Is.EqualTo("abcST"));
        Assert.That(stopped, Is.False);
    }

    [Test]
    public void FirstCompletedStopStringWins()
    {
        Assert.That(Stream(["xyz", "b"], "axy", "bz").Shown, Is.EqualTo("axy"));
        Assert.That(Stream(["cd", "abcdef"], "abcd").Shown, Is.EqualTo("ab"));
    }

    [Test]
    public void NoStopStringsPassEverythingThrough()
    {
        var (shown, stopped, pieces) = Stream([], "a\n", "\nb");
        Assert.That(pieces[0], Is.EqualTo("a\n"));
        Assert.That(shown, Is.EqualTo("a\n\nb"));
        Assert.That(stopped, Is.False);
    }

    [Test]
    public void AfterStoppingNothingMoreIsShown()
    {
        var m = new StopStringMatcher(["."]);
        Assert.That(m.Push("one. two"), Is.EqualTo("one"));
        Assert.That(m.Push("three"), Is.Empty);
        Assert.That(m.Flush(), Is.Empty);
    }

    [Test]
    public void EmptyStopStringIsRefused() => Assert.Throws<ArgumentException>(() => new StopStringMatcher([""]));
}
