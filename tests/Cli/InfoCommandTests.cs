using Hyper.Runtime.Backends;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper info`: every known backend is listed, and the available ones get a column of the op table.</summary>
[NonParallelizable]
public class InfoCommandTests
{
    [Test]
    public void ListsEveryBackendAndHowEachRunsEveryOp()
    {
        var (code, output, err) = CliRunner.Run("info");
        Assert.That(code, Is.EqualTo(0), err);
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        foreach (string name in BackendRegistry.Names)
            Assert.That(lines, Has.One.StartsWith(name + " "), $"a line for {name}");

        // The table: a header of the available backends, then one row per op.
        string[] header = lines.Single(l => l.StartsWith("op ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(header[1..], Does.Contain("cpu").And.Contain("reference"));
        var rows = lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(r => r.Length == header.Length && Enum.TryParse<Op>(r[0], out _))
            .ToDictionary(r => Enum.Parse<Op>(r[0]), r => r[1..]);
        Assert.That(rows.Keys, Is.EquivalentTo(Enum.GetValues<Op>()), output);
        string Cell(Op op, string backend) => rows[op][Array.IndexOf(header, backend) - 1];

        Assert.That(Cell(Op.Matmul, "cpu"), Is.EqualTo("native"));
        Assert.That(Cell(Op.HyperAttention, "reference"), Is.EqualTo("native"));
        if (header.Contains("opencl"))
        {
            Assert.That(Cell(Op.Matmul, "opencl"), Is.EqualTo("native"));
            Assert.That(Cell(Op.LeakyRelu, "opencl"), Is.EqualTo("reference"));
            Assert.That(Cell(Op.HyperAttention, "opencl"), Is.EqualTo("-"));
        }
        Assert.That(output, Does.Contain("Matmul variants: naive, tiled,"), "the kernel lab's variants");

        // Weight formats, per backend: the line after each backend's own.
        string Formats(string backend) => lines[Array.FindIndex(lines, l => l.StartsWith(backend + " ", StringComparison.Ordinal)) + 1];
        Assert.That(Formats("cpu"), Is.EqualTo("weight formats: f32, bf16 (native), q8 (native)"));
        Assert.That(Formats("reference"), Is.EqualTo("weight formats: f32 only"));
        if (header.Contains("opencl")) Assert.That(Formats("opencl"), Is.EqualTo("weight formats: f32, bf16 (native), q8 (native)"));
        if (header.Contains("ilgpu"))
            Assert.That(Formats("ilgpu"), Is.EqualTo("weight formats: f32, bf16 (native), q8 (native)"));
    }
}
