using System.Text;
using Hyper.Runtime;

namespace Hyper.Cli;

/// <summary>
/// The flag that sets each runtime setting (<see cref="SettingException.Setting"/>), so a refused
/// setting is reported the way the user typed it: "--seq 300 exceeds the model's context".
/// </summary>
public static class Flags
{
    // Settings whose flag is not their name in kebab case.
    private static readonly Dictionary<string, string> Irregular = new(StringComparer.Ordinal)
    {
        ["OutDir"] = "--out",
        ["ModelDir"] = "--model",
        ["DataPath"] = "--data",
        ["ValDataPath"] = "--val-data",
        ["TrainLastBlocks"] = "--train-layers",
        ["OnNonFinite"] = "--on-nonfinite",
        ["Network"] = "--hidden",
    };

    /// <summary>The flag of a setting: "Seq" is --seq, "PromptTokens" --prompt-tokens, "OutDir" --out.</summary>
    public static string Of(string setting)
    {
        if (Irregular.TryGetValue(setting, out var flag)) return flag;
        var s = new StringBuilder("--");
        for (int i = 0; i < setting.Length; i++)
        {
            char c = setting[i];
            if (char.IsUpper(c) && i > 0) s.Append('-');
            s.Append(char.ToLowerInvariant(c));
        }
        return s.ToString();
    }

    /// <summary>An error's one-line text: a refused setting under its flag, anything else as it is.</summary>
    public static string Describe(Exception e) => e switch
    {
        SettingException s => $"{Of(s.Setting)} {s.Problem}" + (s.Remedy is var (other, does) ? $"; pass {Of(other)} {does}" : ""),
        // .NET appends " (Parameter 'name')" to an argument exception's message: the name of a C# parameter, not the user's.
        ArgumentException { ParamName: { } name } a => a.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal),
        _ => e.Message,
    };
}
