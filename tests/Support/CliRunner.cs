namespace Hyper.Tests.Support;

/// <summary>Runs `hyper` in process with stdout and stderr captured, and checks how a user error is reported.</summary>
internal static class CliRunner
{
    /// <summary>Runs <c>hyper args...</c>; Console is process-wide, so callers must not run in parallel.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var o = new StringWriter();
        using var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = Hyper.Cli.Program.Main(args);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    /// <summary>
    /// Runs a command that must fail as a user error: exit code 2, the error on one stderr line
    /// (the last; only train's "tokenizing ..." note may precede it) that contains every one of
    /// <paramref name="mustContain"/>, and no stack trace anywhere.
    /// </summary>
    public static string RunExpectingUserError(string[] args, params string[] mustContain)
    {
        var (error, _, err, lines, shown) = RunExpectingExit2(args, mustContain);
        // The only other lines allowed are train's progress notes, printed before the corpus is
        // read; anything else is a second error line or a message broken over lines.
        Assert.That(lines[..^1], Is.All.StartsWith("tokenizing "), "one error line, after progress notes only\n" + shown);
        return error;
    }

    /// <summary>
    /// Runs a command that must stop part-way with an error (a diverged run): exit code 2, no stack
    /// trace, the error on the last stderr line, containing every one of <paramref name="mustContain"/>.
    /// Progress lines may come before it.
    /// </summary>
    public static (string Error, string Out, string Err) RunExpectingRunError(string[] args, params string[] mustContain)
    {
        var (error, stdout, err, lines, shown) = RunExpectingExit2(args, mustContain);
        Assert.That(lines.Count(l => l.Contains("hyper: ")), Is.EqualTo(1), "one error line\n" + shown);
        return (error, stdout, err);
    }

    // Exit code 2, no stack trace or exception type anywhere, the last stderr line "hyper: ..." holding every string.
    private static (string Error, string Out, string Err, string[] Lines, string Shown) RunExpectingExit2(string[] args, string[] mustContain)
    {
        var (code, stdout, err) = Run(args);
        string shown = $"hyper {string.Join(' ', args)}\nstderr:\n{err}";
        Assert.That(code, Is.EqualTo(2), shown);
        Assert.That(err, Does.Not.Contain("   at "), "no stack trace\n" + shown);
        Assert.That(err, Does.Not.Contain("Exception"), "no exception type names\n" + shown);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Is.Not.Empty, shown);
        string error = lines[^1];
        Assert.That(error, Does.StartWith("hyper: "), "the error is the last line, on its own\n" + shown);
        foreach (string s in mustContain) Assert.That(error, Does.Contain(s), shown);
        return (error, stdout, err, lines, shown);
    }
}
