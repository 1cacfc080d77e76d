using Hyper.Runtime.Generation;
using Hyper.Runtime.Text;
using Hyper.Tests.Data;

namespace Hyper.Tests.Generation;

/// <summary>Prompt files and held-out prompt selection.</summary>
public class PromptSourcesTests
{
    [Test]
    public void PromptFileIsSplitOnBlankLines()
    {
        var prompts = PromptFile.Parse("First prompt\nstill first.\n\n  Second.  \n \n\n\nThird\r\n\r\nFourth\n", "test");
        Assert.That(prompts, Is.EqualTo(new[] { "First prompt\nstill first.", "Second.", "Third", "Fourth" }));
    }

    [Test]
    public void JsonLinesKeepExactWhitespace()
    {
        var prompts = PromptFile.ParseJsonLines("\" leading space\"\n\n{\"prompt\": \"two\\n\\nparagraphs \"}\n", "test.jsonl");
        Assert.That(prompts, Is.EqualTo(new[] { " leading space", "two\n\nparagraphs " }));
        Assert.Throws<InvalidDataException>(() => PromptFile.ParseJsonLines("{\"text\": \"x\"}", "test.jsonl"));
        Assert.Throws<InvalidDataException>(() => PromptFile.ParseJsonLines("not json", "test.jsonl"));
    }

    [Test]
    public void EmptyPromptFilesAreRefused()
    {
        Assert.Throws<InvalidDataException>(() => PromptFile.Parse(" \n\n \n", "test"));
        Assert.Throws<InvalidDataException>(() => PromptFile.ParseJsonLines("\n\n", "test.jsonl"));
        string dir = Corpora.TempDir();
        try
        {
            string path = Path.Combine(dir, "empty.txt");
            File.WriteAllText(path, "");
            var e = Assert.Throws<InvalidDataException>(() => PromptFile.Read(path));
            Assert.That(e!.Message, Does.Contain(path).And.Contain("no prompt"));
            Assert.Throws<FileNotFoundException>(() => PromptFile.Read(Path.Combine(dir, "missing.txt")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void HeldOutPromptsStartAtEvenlySpreadLongEnoughParagraphs()
    {
        // 8 paragraphs, the odd ones too short for 10 byte tokens: of 4 prompts, i = 0..3 aim at paragraphs
        // 0, 2, 4, 6 (all long enough).
        string[] paragraphs = Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? $"Paragraph number {i} is long enough." : $"P{i}").ToArray();
        string text = string.Join("\n\n", paragraphs);
        var byteTok = Tokenizers.Create("byte");
        var passages = HeldOutPrompts.Passages(text, 4, 10, [byteTok]);
        Assert.That(passages, Is.EqualTo(new[] { paragraphs[0], paragraphs[2], paragraphs[4], paragraphs[6] }));
        // 3 prompts aim at 0, 2, 5: the short fifth is skipped for the next long one.
        passages = HeldOutPrompts.Passages(text, 3, 10, [byteTok]);
        Assert.That(passages, Is.EqualTo(new[] { paragraphs[0], paragraphs[2], paragraphs[6] }));
    }

    [Test]
    public void TooFewLongParagraphsIsAnError()
    {
        string text = "Long enough paragraph here.\n\nP1\n\nP2\n\nP3";
        Assert.Throws<InvalidDataException>(() => HeldOutPrompts.Passages(text, 3, 10, [Tokenizers.Create("byte")]));
    }

    [Test]
    public void WithoutParagraphsPassagesStartAtEvenlySpacedWordStarts()
    {
        string text = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"w{i:000}"));
        var passages = HeldOutPrompts.Passages(text, 3, 8, [Tokenizers.Create("byte")]);
        Assert.That(passages, Has.Count.EqualTo(3));
        Assert.That(passages[0], Does.StartWith("w000"));
        // 999 characters, word k at 5k..5k+3: character 333 is inside word 66 and 666 inside word 133, so the
        // passages start at the next words.
        Assert.That(passages[1], Does.StartWith("w067"));
        Assert.That(passages[2], Does.StartWith("w134"));
        Assert.That(passages.Select(p => p[0]), Is.All.EqualTo('w'), "every passage starts at a word");
    }

    [Test]
    public void PrefixTakesTheFirstTokensOfALongPassage()
    {
        var gpt2 = Tokenizers.Create("gpt2");
        string passage = string.Concat(Enumerable.Repeat("The whale, which had been seen again, swam on. ", 400));
        int[] prefix = HeldOutPrompts.Prefix(passage, 32, gpt2)!;
        Assert.That(prefix, Is.EqualTo(gpt2.Encode(passage)[..32]));
        Assert.That(HeldOutPrompts.Prefix("Too short.", 32, gpt2), Is.Null);
    }
}
