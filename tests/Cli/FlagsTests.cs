using System.Text.RegularExpressions;
using Hyper.Cli;
using Hyper.Runtime;

namespace Hyper.Tests.Cli;

/// <summary>The runtime names settings; only the CLI knows their flags.</summary>
public class FlagsTests
{
    [TestCase("Seq", "--seq")]
    [TestCase("PromptTokens", "--prompt-tokens")]
    [TestCase("DataA", "--data-a")]
    [TestCase("OutDir", "--out")]
    [TestCase("TrainLastBlocks", "--train-layers")]
    [TestCase("OnNonFinite", "--on-nonfinite")]
    public void EachSettingHasItsFlag(string setting, string flag) => Assert.That(Flags.Of(setting), Is.EqualTo(flag));

    [Test]
    public void ARefusedSettingReadsAsItsFlag()
    {
        var e = new SettingException("Seq", "300 exceeds the model's context of 256 tokens");
        Assert.That(e.Message, Is.EqualTo("Seq: 300 exceeds the model's context of 256 tokens"));
        Assert.That(Flags.Describe(e), Is.EqualTo("--seq 300 exceeds the model's context of 256 tokens"));
        Assert.That(Flags.Describe(new IOException("x: no such file")), Is.EqualTo("x: no such file"));
        Assert.That(Flags.Describe(new ArgumentOutOfRangeException("tokens", "token id 49605 is outside the vocabulary (0..49151)")),
            Is.EqualTo("token id 49605 is outside the vocabulary (0..49151)"), "without .NET's (Parameter 'tokens')");
    }

    /// <summary>
    /// No string in src/Runtime spells a command-line flag (a comment may): messages name settings,
    /// and src/Cli turns them into flags. The one exception is the build command CUDA's loader
    /// suggests (dotnet cake --target=Native), which is not a flag of hyper.
    /// </summary>
    [Test]
    public void RuntimeStringsNameNoFlags()
    {
        string? dir = TestContext.CurrentContext.TestDirectory;
        while (dir is not null && !Directory.Exists(Path.Combine(dir, "src", "Runtime"))) dir = Path.GetDirectoryName(dir);
        if (dir is null) Assert.Ignore("the source tree is not above the test binaries");
        var flag = new Regex("\"[^\"]*--[a-z][a-z-]+");
        var offenders = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(dir!, "src", "Runtime"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
            int n = 0;
            foreach (string line in File.ReadLines(file))
            {
                n++;
                string code = line.TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal) || code.Contains("dotnet cake --target", StringComparison.Ordinal)) continue;
                if (flag.IsMatch(code)) offenders.Add($"{Path.GetRelativePath(dir!, file)}:{n}: {code}");
            }
        }
        Assert.That(offenders, Is.Empty);
    }
}
