using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.IO;

namespace Hyper.Runtime.Training;

/// <summary>
/// What every trainer (train, hyperfit, hypernet train) does with its output folder, written once:
/// the start checks (a new run never overwrites a saved one; --resume needs one), the JSONL log
/// (one object per line, appended and flushed as the run goes, cut back to the checkpoint on
/// resume), and the ETA. Resume settings are checked by <see cref="ResumeSettings"/>.
/// </summary>
public static class RunFolder
{
    /// <summary>
    /// Throws <see cref="SettingException"/> when a new run would overwrite the run saved in
    /// <paramref name="outDir"/>, or when a resumed one finds none. <paramref name="what"/> names what a
    /// saved run is ("checkpoint", "hypernetwork").
    /// </summary>
    public static void CheckStart(string outDir, bool resume, bool holdsRun, string what)
    {
        if (!resume && holdsRun)
            throw new SettingException("OutDir", $"{outDir} already holds a {what}", ("Resume", "to continue it, or choose another folder"));
        if (resume && !holdsRun)
            throw new SettingException("Resume", $"{outDir} holds no {what}: nothing to resume");
    }

    /// <summary>The log's lines as objects; a line that is not a JSON object (cut by a crash) is skipped.</summary>
    public static List<JsonObject> ReadLog(string path)
    {
        var lines = new List<JsonObject>();
        if (!File.Exists(path)) return lines;
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { if (JsonNode.Parse(line) is JsonObject o) lines.Add(o); }
            catch (JsonException) { } // a line cut by a crash
        }
        return lines;
    }

    /// <summary>
    /// Rewrites the log (atomically) with only the lines <paramref name="keep"/> accepts, so a
    /// resumed run's log reads as one run: the lines past its checkpoint are dropped. Returns them.
    /// </summary>
    public static List<JsonObject> TrimLog(string path, Func<JsonObject, bool> keep)
    {
        var kept = ReadLog(path).Where(keep).ToList();
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(o => o.ToJsonString() + "\n")));
        return kept;
    }

    /// <summary>An integer field of a log line ("step", "epoch"), or null when it is missing or not an integer.</summary>
    public static int? Int(JsonObject line, string key) =>
        line[key] is JsonValue v && v.TryGetValue(out int n) ? n : null;

    /// <summary>The log opened for appending, each line flushed as it is written (a kill loses at most the line being written).</summary>
    public static StreamWriter AppendLog(string path) => new(path, append: true) { AutoFlush = true };

    /// <summary>
    /// The time the work left takes at the rate this process has kept so far (work done in
    /// <paramref name="elapsed"/>); a resumed run's earlier work is not counted in the rate.
    /// </summary>
    public static TimeSpan Eta(double workLeft, double workDone, TimeSpan elapsed) =>
        workDone <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Max(workLeft, 0) * elapsed.TotalSeconds / workDone);
}
