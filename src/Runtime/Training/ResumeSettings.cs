namespace Hyper.Runtime.Training;

/// <summary>
/// The one check every trainer makes before it continues a saved run: the settings that shape the
/// run (data, batch, learning rate, ...) must be the ones it was saved with, or the resumed run
/// would silently be a different run. Only the keys a trainer names may differ (its length).
/// </summary>
public static class ResumeSettings
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first setting in <paramref name="now"/> that
    /// differs from (or is missing in) <paramref name="saved"/>, read from <paramref name="statePath"/>.
    /// </summary>
    public static void Check(IReadOnlyDictionary<string, string> now, IReadOnlyDictionary<string, string>? saved, string statePath,
        params string[] mayChange)
    {
        saved ??= new Dictionary<string, string>();
        foreach (var (key, value) in now)
        {
            if (mayChange.Contains(key)) continue;
            if (!saved.TryGetValue(key, out var was) || was != value)
                throw new SettingException("Resume",
                    $"changes {key} from {(was is null ? "nothing" : was)} (in {statePath}) to {value}; resume with the same settings" +
                    (mayChange.Length > 0 ? $" (only {string.Join(", ", mayChange)} may change)" : ""));
        }
    }
}
