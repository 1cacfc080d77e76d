using System.Globalization;

namespace Hyper.Runtime.Training;

/// <summary>The checks every training loop makes of its shared flags, with the flag named in the message.</summary>
public static class OptimizerFlags
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first flag out of range.</summary>
    public static void Validate(int batch, int steps, int seq, float lr, int warmup, float weightDecay)
    {
        if (batch < 1) throw new SettingException("Batch", "must be at least 1");
        if (steps < 1) throw new SettingException("Steps", "must be at least 1");
        if (seq < 0) throw new SettingException("Seq", "must be positive");
        if (lr <= 0 || !float.IsFinite(lr)) throw new SettingException("Lr", "must be a positive number");
        if (warmup < 0) throw new SettingException("Warmup", "must not be negative");
        if (weightDecay < 0) throw new SettingException("WeightDecay", "must not be negative");
    }

    /// <summary>
    /// The shared flags as the checkpoint's run settings record them (invariant culture), added to <paramref name="settings"/>:
    /// a resumed run compares these entries, so both trainers must write them the same way.
    /// </summary>
    public static Dictionary<string, string> AddTo(Dictionary<string, string> settings, int steps, int batch, int seq, float lr, int warmup,
        string schedule, float weightDecay, float gradClip)
    {
        settings["steps"] = steps.ToString(CultureInfo.InvariantCulture);
        settings["batch"] = batch.ToString(CultureInfo.InvariantCulture);
        settings["seq"] = seq.ToString(CultureInfo.InvariantCulture);
        settings["lr"] = lr.ToString(CultureInfo.InvariantCulture);
        settings["warmup"] = warmup.ToString(CultureInfo.InvariantCulture);
        settings["schedule"] = schedule;
        settings["weight_decay"] = weightDecay.ToString(CultureInfo.InvariantCulture);
        settings["grad_clip"] = gradClip.ToString(CultureInfo.InvariantCulture);
        return settings;
    }
}
