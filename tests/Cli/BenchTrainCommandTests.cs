using System.Text.Json;

namespace Hyper.Tests.Cli;

/// <summary>`hyper bench train` end to end, in process.</summary>
[NonParallelizable]
public class BenchTrainCommandTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
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

    [Test]
    public void JsonHasTheKeysAndSaneValues()
    {
        var (code, output, _) = Run("bench", "train", "--model", "tiny", "--batch", "2", "--seq", "16", "--steps", "3", "--warmup", "1", "--json");
        Assert.That(code, Is.EqualTo(0));
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = doc.RootElement;
        double ms = root.GetProperty("ms_per_step").GetDouble();
        Assert.That(ms, Is.GreaterThan(0));
        Assert.That(root.GetProperty("tokens_per_s").GetDouble(), Is.EqualTo(2 * 16 * 1000.0 / ms).Within(1e-3).Percent);
        // tiny: L2 C64 V256 -> P_mm = 2*12*64^2 + 256*64 = 114688; per token 6*P_mm + 12*2*16*64.
        Assert.That(root.GetProperty("flops_per_step").GetDouble(), Is.EqualTo(2 * 16 * (6.0 * 114688 + 12 * 2 * 16 * 64)));
        Assert.That(root.GetProperty("gflops_per_s").GetDouble(), Is.GreaterThan(0));
        Assert.That(root.GetProperty("config").GetProperty("n_layer").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public void BadFlagsFailWithAMessage()
    {
        var (code, _, err) = Run("bench", "train", "--model", "nope");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("unknown preset 'nope'"));
        (code, _, err) = Run("bench", "train", "--model", "tiny", "--seq", "65");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(err, Does.Contain("--seq"));
    }
}
