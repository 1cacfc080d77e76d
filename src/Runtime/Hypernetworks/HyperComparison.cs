using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hyper.Runtime.Plotting;
using Hyper.Runtime.Training;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// Reads finished `hyper hypernet train` folders and compares their held-out curves: steps to a
/// target loss and final loss per configuration (parametrization × learning rate), mean and
/// spread over seeds, as a Markdown table and one curves PNG per learning rate.
/// </summary>
public static class HyperComparison
{
    /// <summary>One run: its configuration and its held-out curve.</summary>
    /// <param name="Dir">The run's folder.</param>
    /// <param name="Parametrization">"MIP" (cos|sin and residual), "plain" (raw, no residual) or the switches spelled out.</param>
    /// <param name="Lr">Learning rate.</param>
    /// <param name="Seed">Seed.</param>
    /// <param name="Steps">Evaluated steps.</param>
    /// <param name="Losses">Held-out loss at each of <paramref name="Steps"/>.</param>
    public sealed record Run(string Dir, string Parametrization, string Lr, string Seed, IReadOnlyList<double> Steps, IReadOnlyList<double> Losses)
    {
        /// <summary>First evaluated step at or below <paramref name="target"/>, or null.</summary>
        public int? StepsTo(double target)
        {
            for (int i = 0; i < Steps.Count; i++)
                if (Losses[i] <= target) return (int)Steps[i];
            return null;
        }

        /// <summary>The last held-out loss.</summary>
        public double Final => Losses.Count == 0 ? double.NaN : Losses[^1];
    }

    /// <summary>Reads a run folder (hypernet.json and log.jsonl).</summary>
    public static Run Load(string dir)
    {
        var state = HyperCheckpoint.ReadState(dir);
        string log = Path.Combine(dir, Trainer.LogFile);
        if (!File.Exists(log)) throw new FileNotFoundException($"{log}: no such file", log);
        var steps = new List<double>();
        var losses = new List<double>();
        foreach (string line in File.ReadLines(log))
        {
            if (JsonNode.Parse(line) is not JsonObject o || o["eval_loss"] is null) continue;
            steps.Add(o["step"]!.GetValue<int>());
            losses.Add(o["eval_loss"]!.GetValue<double>());
        }
        var n = state.Options;
        string p = (n.Encoding, n.Residual) switch
        {
            (Kernels.Reference.HyperEncodingKind.CosSin, true) => "MIP",
            (Kernels.Reference.HyperEncodingKind.Raw, false) => "plain",
            _ => $"{n.Encoding}, residual {(n.Residual ? "on" : "off")}",
        };
        var train = state.Train ?? [];
        return new Run(dir, p, train.GetValueOrDefault("lr", "?"), train.GetValueOrDefault("seed", state.Seed.ToString(CultureInfo.InvariantCulture)), steps, losses);
    }

    /// <summary>The Markdown table: one row per (parametrization, lr), mean ± sample standard deviation over seeds.</summary>
    public static string Table(IReadOnlyList<Run> runs, double target)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"| parametrization | lr | seeds | reached {target} | steps to {target} (mean ± sd) | final held-out loss (mean ± sd) | per seed: steps / final |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var g in runs.GroupBy(r => (r.Parametrization, r.Lr)).OrderBy(g => g.Key.Lr, StringComparer.Ordinal).ThenBy(g => g.Key.Parametrization, StringComparer.Ordinal))
        {
            var list = g.OrderBy(r => r.Seed, StringComparer.Ordinal).ToList();
            var reached = list.Select(r => r.StepsTo(target)).OfType<int>().Select(s => (double)s).ToList();
            string per = string.Join("; ", list.Select(r => $"s{r.Seed}: {(r.StepsTo(target)?.ToString(CultureInfo.InvariantCulture) ?? "—")} / {r.Final:F3}"));
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {g.Key.Parametrization} | {g.Key.Lr} | {list.Count} | {reached.Count}/{list.Count} | {MeanSd(reached, "F0")} | {MeanSd(list.Select(r => r.Final).ToList(), "F3")} | {per} |");
        }
        return sb.ToString();
    }

    private static string MeanSd(IReadOnlyList<double> x, string format)
    {
        if (x.Count == 0) return "—";
        double mean = x.Average();
        double sd = x.Count < 2 ? 0 : Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / (x.Count - 1));
        return $"{mean.ToString(format, CultureInfo.InvariantCulture)} ± {sd.ToString(format, CultureInfo.InvariantCulture)}";
    }

    /// <summary>One panel per learning rate with every run's held-out curve, and the target as a flat line.</summary>
    public static void Plot(string path, IReadOnlyList<Run> runs, double target)
    {
        var panels = runs.GroupBy(r => r.Lr).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var series = g.OrderBy(r => r.Parametrization, StringComparer.Ordinal).ThenBy(r => r.Seed, StringComparer.Ordinal)
                .Select(r => new Series($"{r.Parametrization} s{r.Seed}", r.Steps, r.Losses)).ToList();
            double last = g.Max(r => r.Steps.Count == 0 ? 0 : r.Steps[^1]);
            series.Add(new Series($"target {target}", [0, last], [target, target]));
            return new Panel($"lr {g.Key}", "step", "held-out loss", series);
        }).ToList();
        LinePlot.SaveGrid(path, "hypernetwork: MIP vs plain (held-out mixture loss)", panels);
    }
}
