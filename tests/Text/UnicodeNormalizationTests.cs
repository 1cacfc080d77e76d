using System.IO.Compression;
using System.Text;
using Hyper.Runtime.Text;
using Hyper.Tests.Support;

namespace Hyper.Tests.Text;

/// <summary>
/// <see cref="UnicodeNormalization"/> against Python's unicodedata.normalize on the strings of
/// tests/Fixtures/unicode/normalization.txt.gz (from tools/unicode/make-normalization-data.py):
/// every character with a decomposition, marks in shuffled order, Hangul, CJK, emoji, singletons.
/// </summary>
public class UnicodeNormalizationTests
{
    private static readonly NormalizationForm[] Forms =
        [NormalizationForm.FormC, NormalizationForm.FormD, NormalizationForm.FormKC, NormalizationForm.FormKD];

    private static List<string[]>? _cases;

    /// <summary>Each fixture line: source, NFC, NFD, NFKC, NFKD.</summary>
    private static List<string[]> Cases()
    {
        if (_cases != null) return _cases;
        using var gz = new GZipStream(File.OpenRead(Fixtures.Path(Path.Combine("unicode", "normalization.txt.gz"))), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.ASCII);
        var cases = new List<string[]>();
        for (string? line; (line = reader.ReadLine()) != null;)
            if (line.Length > 0 && line[0] != '#')
                cases.Add(line.Split(';').Select(FromHex).ToArray());
        return _cases = cases;
    }

    /// <summary>Code points in hex to a string; lone surrogates stay lone (ConvertFromUtf32 refuses them).</summary>
    private static string FromHex(string field)
    {
        var sb = new StringBuilder();
        foreach (var h in field.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int cp = Convert.ToInt32(h, 16);
            if (cp >= 0x10000) sb.Append(char.ConvertFromUtf32(cp));
            else sb.Append((char)cp);
        }
        return sb.ToString();
    }

    private static string Hex(string s) => string.Join(" ", s.Select(c => ((int)c).ToString("X4")));

    [Test]
    public void Fixture_is_large_and_from_the_same_Unicode_version()
    {
        Assert.That(Cases(), Has.Count.GreaterThan(5000));
        using var gz = new GZipStream(File.OpenRead(Fixtures.Path(Path.Combine("unicode", "normalization.txt.gz"))), CompressionMode.Decompress);
        string header = new StreamReader(gz).ReadLine()!;
        Assert.That(header, Does.EndWith("Unicode " + UnicodeNormalization.UnicodeVersion));
    }

    [TestCaseSource(nameof(Forms))]
    public void Matches_python_unicodedata(NormalizationForm form)
    {
        int column = Array.IndexOf(Forms, form) + 1;
        var failures = new List<string>();
        foreach (var c in Cases())
        {
            string got = UnicodeNormalization.Normalize(c[0], form);
            if (got != c[column] && failures.Count < 20)
                failures.Add($"{Hex(c[0])}\n  expected {Hex(c[column])}\n  got      {Hex(got)}");
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [TestCaseSource(nameof(Forms))]
    public void Is_idempotent(NormalizationForm form)
    {
        foreach (var c in Cases())
        {
            string once = UnicodeNormalization.Normalize(c[0], form);
            Assert.That(UnicodeNormalization.Normalize(once, form), Is.EqualTo(once), Hex(c[0]));
        }
    }

    [Test]
    public void Forms_agree_with_each_other()
    {
        // UAX #15's invariants: NFC and NFD of any form of a string are NFC and NFD of the string;
        // NFKC and NFKD of any form are NFKC and NFKD of it.
        foreach (var c in Cases())
        {
            foreach (string x in c)
            {
                Assert.That(UnicodeNormalization.Normalize(x, NormalizationForm.FormKC), Is.EqualTo(c[3]), Hex(x));
                Assert.That(UnicodeNormalization.Normalize(x, NormalizationForm.FormKD), Is.EqualTo(c[4]), Hex(x));
            }
            foreach (string x in c[..3])
            {
                Assert.That(UnicodeNormalization.Normalize(x, NormalizationForm.FormC), Is.EqualTo(c[1]), Hex(x));
                Assert.That(UnicodeNormalization.Normalize(x, NormalizationForm.FormD), Is.EqualTo(c[2]), Hex(x));
            }
        }
    }

    [TestCase("", "")]
    [TestCase("plain ascii", "plain ascii")]
    [TestCase("Cafe\u0301", "Caf\u00e9")]
    [TestCase("\u212b \u2126", "\u00c5 \u03a9")]
    [TestCase("\u1100\u1161\u11a8", "\uac01")]
    [TestCase("a\u0323\u0307\u0301", "\u1ea1\u0307\u0301")] // the dot below composes; the two class-230 marks stay in order
    [TestCase("\u0301e", "\u0301e")]
    [TestCase("\ud800e\u0301\udc00", "\ud800\u00e9\udc00")]
    public void Composes_canonically(string text, string nfc) =>
        Assert.That(UnicodeNormalization.Normalize(text, NormalizationForm.FormC), Is.EqualTo(nfc));

    [Test]
    public void Ascii_and_already_composed_text_come_back_as_the_same_instance()
    {
        string ascii = "The quick brown fox", latin = "Ærøskøbing façade";
        Assert.That(UnicodeNormalization.Normalize(ascii, NormalizationForm.FormKD), Is.SameAs(ascii));
        Assert.That(UnicodeNormalization.Normalize(latin, NormalizationForm.FormC), Is.SameAs(latin));
    }

    [Test]
    public void Tokenizer_normalizer_steps_use_it()
    {
        var n = new TextNormalizer(System.Text.Json.JsonDocument.Parse("""{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"}]}""").RootElement, "tokenizer.json");
        Assert.That(n.Apply("\ufb01 A\u030a"), Is.EqualTo("fi \u00e5"));
    }
}
