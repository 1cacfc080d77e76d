using System.Globalization;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Hypernetworks;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;

namespace Hyper.Cli;

/// <summary>How every command opens the model folders it is given, with user errors for folders that are not ones.</summary>
internal static class ModelFolders
{
    /// <summary>Loads a checkpoint folder, with a user error for a folder that is not one.</summary>
    internal static (ICausalLm Model, TrainingState State) Load(string dir, IBackend backend)
    {
        if (!Directory.Exists(dir)) throw new CliException($"{dir}: no such model folder");
        if (!Checkpoint.IsCheckpoint(dir)) throw new CliException($"{dir}: not a checkpoint folder (no config.json)");
        return Checkpoint.Load(dir, backend);
    }

    /// <summary>The GPT-2 a hypernetwork folder generates at γ, with user errors for a bad folder or γ.</summary>
    internal static (ICausalLm Model, TrainingState State) LoadAt(string dir, float gamma, IBackend backend)
    {
        if (!Directory.Exists(dir)) throw new CliException($"--hypernet {dir}: no such folder");
        if (!HyperCheckpoint.IsHyperCheckpoint(dir)) throw new CliException($"--hypernet {dir}: not a hypernetwork folder (no {HyperCheckpoint.StateFile})");
        if (!(gamma >= 0f && gamma <= 1f)) throw new CliException($"--gamma {gamma.ToString(CultureInfo.InvariantCulture)} is outside [0, 1]");
        return HyperCheckpoint.LoadAt(dir, gamma, backend);
    }

}
