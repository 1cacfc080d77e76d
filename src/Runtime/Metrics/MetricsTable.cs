using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hyper.Runtime.Metrics;

/// <summary>
/// Renders several labelled <see cref="GenerationMetrics"/> rows side by side (e.g. original greedy,
/// original top-p, hyperfitted greedy) as an aligned text table, CSV or JSON. CSV and JSON take their
/// column names and order from the JSON serialisation of the record, so the three never disagree.
/// </summary>
public static class MetricsTable
{
    // Text columns: header, JSON name, format. Fractions get 3 decimals; TTR is already ×100.
    private static readonly (string Header, string Key, string Format)[] TextColumns =
    [
        ("n", "generations", "F0"),
        ("len", "mean_length", "F1"),
        ("TTR", "ttr", "F1"),
        ("dist-1", "distinct1", "F3"),
        ("dist-2", "distinct2", "F3"),
        ("self-BLEU", "self_bleu", "F3"),
        ("rep-4g", "repeated_4gram", "F3"),
        ("overlap", "overlap_mean", "F1"),
        ("ovl-max", "overlap_max", "F0"),
        ("entropy", "mean_entropy", "F3"),
        ("top-1", "mean_top1", "F3"),
        ("ppl", "perplexity", "F2"),
    ];

    /// <summary>
    /// An aligned plain-text table: one line per row, label left-aligned, numbers right-aligned,
    /// "-" for a value that was not measured.
    /// </summary>
    public static string ToText(IReadOnlyList<(string Label, GenerationMetrics Metrics)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var cells = new List<string[]>();
        cells.Add(["model", .. TextColumns.Select(c => c.Header)]);
        foreach (var (label, metrics) in rows)
        {
            var obj = Node(metrics);
            cells.Add([label, .. TextColumns.Select(c => Number(obj[c.Key]) is { } v ? v.ToString(c.Format, CultureInfo.InvariantCulture) : "-")]);
        }

        int columns = cells[0].Length;
        var width = new int[columns];
        foreach (var line in cells)
            for (int c = 0; c < columns; c++) width[c] = Math.Max(width[c], line[c].Length);

        var sb = new StringBuilder();
        for (int r = 0; r < cells.Count; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                if (c > 0) sb.Append("  ");
                sb.Append(c == 0 ? cells[r][c].PadRight(width[c]) : cells[r][c].PadLeft(width[c]));
            }
            sb.Append('\n');
            if (r == 0) sb.Append(new string('-', width.Sum() + 2 * (columns - 1))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// CSV (RFC 4180, '\n' line ends): a header "label,generations,..." with the JSON names, then one line
    /// per row; numbers in invariant round-trip form, an unmeasured value as an empty field.
    /// </summary>
    public static string ToCsv(IReadOnlyList<(string Label, GenerationMetrics Metrics)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var keys = Node(new GenerationMetrics()).Select(p => p.Key).ToList();
        var sb = new StringBuilder();
        sb.AppendJoin(',', ["label", .. keys]).Append('\n');
        foreach (var (label, metrics) in rows)
        {
            var obj = Node(metrics);
            sb.Append(CsvField(label));
            foreach (string key in keys)
            {
                sb.Append(',');
                if (obj[key] is JsonValue v)
                    sb.Append(v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString());
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A JSON array with one object per row: "label" first, then the metrics under their snake_case names.</summary>
    public static string ToJson(IReadOnlyList<(string Label, GenerationMetrics Metrics)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var array = new JsonArray();
        foreach (var (label, metrics) in rows)
        {
            var row = new JsonObject { ["label"] = label };
            foreach (var (key, value) in Node(metrics)) row[key] = value?.DeepClone();
            array.Add(row);
        }
        return array.ToJsonString(GenerationMetrics.JsonOptions);
    }

    private static JsonObject Node(GenerationMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return JsonSerializer.SerializeToNode(metrics, GenerationMetrics.JsonOptions)!.AsObject();
    }

    private static double? Number(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;

    private static string CsvField(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") < 0 ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
