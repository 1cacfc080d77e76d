using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.Distributed;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Plotting;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.Training;

/// <summary>
/// `hyper train`: a model, a corpus, AdamW steps, held-out evaluations, checkpoints, a JSONL log
/// and a loss plot. A resumed run (same out folder, --resume) continues bit-exactly on the CPU:
/// weights, AdamW moments, step and data position all come back from the checkpoint.
/// <para>
/// Data-parallel (<see cref="TrainOptions.Collectives"/> of several ranks): every rank runs this
/// same loop on its slice of each global batch; rank 0 alone writes the folder and reports. The
/// data position is the global one, so a run resumes with any number of ranks.
/// </para>
/// </summary>
public static class Trainer
{
    /// <summary>The log's file name inside the out folder.</summary>
    public const string LogFile = "log.jsonl";

    /// <summary>The plot's file name inside the out folder.</summary>
    public const string PlotFile = "loss.png";

    /// <summary>Runs (or resumes) a training run; stops early, saving, when <paramref name="cancel"/> fires.</summary>
    public static TrainResult Run(TrainOptions o, Action<TrainProgress>? progress = null, Action<string>? info = null, CancellationToken cancel = default)
    {
        Validate(o);
        using var dp = new DataParallel(o.Collectives, o.GradientBucketBytes);
        if (!dp.IsLeader) { progress = null; info = null; }
        using var backend = BackendRegistry.Create(o.Device);
        var (model, state) = o.Resume ? LoadForResume(o, backend) : Create(o, backend);
        using var _ = model;
        // Same seed, same weights; the broadcast makes it so whatever a rank's backend rounds differently.
        if (!o.Resume) dp.BroadcastParameters(model);
        if (o.Resume && model.Step >= o.Steps)
            return new TrainResult(Path.GetFullPath(o.OutDir), model.Step, float.NaN, null, 0, 0, model.Layout.Parameters, false, null) { NothingToDo = true };
        o.Attention?.Apply(model);
        var config = model.Config;
        // --tokenizer names one; else the model folder's own (its tokenizer.json, or what hyper.json names).
        string? folder = o.Resume ? o.OutDir : Directory.Exists(o.Model) ? o.Model : null;
        var tokenizer = o.Tokenizer is not null ? Tokenizers.Create(o.Tokenizer)
            : folder is not null ? ModelTokenizer.Of(folder, state) : Tokenizers.Create(state.Tokenizer);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException($"the {tokenizer.Name} tokenizer has {tokenizer.VocabSize} ids but the model's vocab_size is {config.VocabSize}");
        int B = o.Batch, T = o.Seq == 0 ? config.Context : o.Seq;
        int localB = dp.LocalBatch(B);
        if (T > config.Context)
            throw new SettingException("Seq", $"{T} exceeds the model's n_positions ({config.Context})");
        var trainSettings = Settings(o, T, tokenizer.Name);
        // A resumed run is the same run: only its length (--steps) may change.
        if (o.Resume) ResumeSettings.Check(trainSettings, state.Train, Path.Combine(o.OutDir, Checkpoint.StateFile), "steps");

        info?.Invoke($"tokenizing {o.DataPath} ({tokenizer.Name})");
        var all = TokenCorpus.Load(o.DataPath, tokenizer);
        int[] train, val;
        if (o.ValDataPath is not null)
        {
            train = all;
            val = TokenCorpus.Load(o.ValDataPath, tokenizer);
        }
        else
        {
            if (all.Length < T + 1)
                throw new InvalidDataException($"{o.DataPath}: {all.Length} tokens are fewer than one window of {T + 1} (sequence length {T})");
            try { (train, val) = DataSplit.Split(all, o.ValFraction, T + 1); }
            catch (ArgumentException e)
            {
                // The split knows the counts but not the file; the user needs both.
                throw new InvalidDataException($"{o.DataPath}: {e.Message.Replace($" (Parameter '{e.ParamName}')", "")}");
            }
        }
        if (train.Length < T + 1) throw new InvalidDataException($"{o.DataPath}: {train.Length} training tokens are fewer than one window of {T + 1}");
        var sampler = o.Resume ? BatchSampler.Restore(train, B, T, state.Seed, state.DataPosition) : new BatchSampler(train, B, T, state.Seed);
        info?.Invoke($"model: {config.Layers} layers, {config.Heads} heads, {config.Channels} channels, {model.Layout.Parameters:N0} parameters; " +
                     $"{train.Length:N0} training tokens, {val.Length:N0} held out; B={B}, T={T}, steps {model.Step}..{o.Steps}" +
                     (dp.Collectives.WorldSize > 1 ? $"; {dp.Collectives.WorldSize} ranks ({dp.Collectives.Name}) of {localB} sequences and {Hyper.Kernels.Cpu.CpuParallel.Threads} CPU threads each, {dp.Describe(model)}" : ""));

        var schedule = new LearningRateSchedule(o.Lr, o.Warmup, o.Steps, o.Schedule == "cosine");
        var adam = new AdamWSettings { WeightDecay = o.WeightDecay, GradClip = o.GradClip };
        Directory.CreateDirectory(o.OutDir);
        string logPath = Path.Combine(o.OutDir, LogFile);
        int kept = o.Resume ? model.Step : 0;
        if (dp.IsLeader) RunFolder.TrimLog(logPath, l => RunFolder.Int(l, "step") is int s && kept > 0 && s <= kept);

        var inputs = new int[B * T];
        var targets = new int[B * T];
        var clock = Stopwatch.StartNew();
        long tokensDone = 0;
        float loss = float.NaN;
        double? valLoss = null;
        bool interrupted = false;
        int startStep = model.Step;
        var guard = new NonFiniteGuard(o.OnNonFinite);
        int savedStep = o.Resume ? model.Step : -1;
        using (TextWriter log = dp.IsLeader ? RunFolder.AppendLog(logPath) : TextWriter.Null)
        {
            if (model.Step == 0 && val.Length >= T + 1)
            {
                // The starting point of the held-out curve.
                double v0 = Evaluator.Evaluate(model, val, T, o.EvalWindows, B).Loss;
                log.WriteLine(new JsonObject { ["step"] = 0, ["val_loss"] = v0 }.ToJsonString());
                info?.Invoke($"held-out loss before training: {v0:F4}");
            }
            while (model.Step < o.Steps)
            {
                if (dp.StopRequested(cancel)) { interrupted = true; break; }
                int step = model.Step;
                long t0 = Stopwatch.GetTimestamp();
                sampler.Next(inputs, targets);
                model.ZeroGradients();
                var (first, rows) = dp.Rows(B);
                loss = model.Forward(inputs.AsSpan(first * T, rows * T), targets.AsSpan(first * T, rows * T), rows, T);
                dp.BeginBackward(model);
                model.Backward(dp.LossScale(rows, B));
                loss = dp.AllReduceGradients(model, loss, rows, B, cancel.IsCancellationRequested);
                float lr = schedule.At(step);
                double norm = model.GradientNorm();
                if (!guard.Admit(step + 1, loss, norm, Kept(o.OutDir, savedStep)))
                {
                    // The step counts (the schedule and the data move on) but changes nothing.
                    model.Step++;
                    tokensDone += B * T;
                    log.WriteLine(new JsonObject { ["step"] = model.Step, ["skipped"] = NonFiniteGuard.Problem(loss, norm) }.ToJsonString());
                    info?.Invoke($"step {model.Step}: {NonFiniteGuard.Problem(loss, norm)}; update skipped (non-finite steps are skipped)");
                    if (model.Step < o.Steps) continue;
                    break;
                }
                model.Update(lr, adam, norm);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                tokensDone += B * T;

                bool last = model.Step == o.Steps;
                valLoss = null;
                if (val.Length >= T + 1 && ((o.EvalEvery > 0 && model.Step % o.EvalEvery == 0) || last))
                    valLoss = Evaluator.Evaluate(model, val, T, o.EvalWindows, B).Loss;
                if (valLoss is double vl && !double.IsFinite(vl))
                    throw new TrainingDivergedException($"training diverged: the held-out loss after step {model.Step} is {vl}; {Kept(o.OutDir, savedStep)} (lower the learning rate)");

                double tps = tokensDone / clock.Elapsed.TotalSeconds;
                var eta = RunFolder.Eta((o.Steps - model.Step) * (double)B * T, tokensDone, clock.Elapsed);
                var p = new TrainProgress(model.Step, o.Steps, loss, lr, norm, ms, tps, eta, valLoss) { CommBytes = dp.StepBytes, CommMs = dp.StepMs };
                log.WriteLine(LogLine(p));
                progress?.Invoke(p);
                if (dp.IsLeader && o.SaveEvery > 0 && model.Step % o.SaveEvery == 0 && !last)
                {
                    Save(o.OutDir, model, tokenizer, state.Seed, sampler.Position, trainSettings);
                    savedStep = model.Step;
                }
            }
        }
        string? plot = null;
        if (dp.IsLeader)
        {
            Save(o.OutDir, model, tokenizer, state.Seed, sampler.Position, trainSettings);
            plot = WritePlot(o.OutDir, logPath);
        }
        // The other ranks wait here, so the job ends only once the final checkpoint is whole.
        dp.Collectives.Barrier();
        double seconds = clock.Elapsed.TotalSeconds;
        return new TrainResult(Path.GetFullPath(o.OutDir), model.Step, loss, dp.IsLeader ? LastValLoss(logPath) : valLoss, model.Step > startStep ? tokensDone / seconds : 0,
            seconds, model.Layout.Parameters, interrupted, plot);
    }

    /// <summary>What the out folder holds after a stop: the last save of this run or of the one it resumed.</summary>
    internal static string Kept(string dir, int savedStep) =>
        savedStep < 0 ? $"no checkpoint was saved to {dir} yet" : $"{dir} keeps the checkpoint of step {savedStep}";

    private static void Validate(TrainOptions o)
    {
        OptimizerFlags.Validate(o.Batch, o.Steps, o.Seq, o.Lr, o.Warmup, o.WeightDecay);
        if (o.ValFraction < 0 || o.ValFraction >= 1) throw new SettingException("ValFraction", "must be in [0, 1)");
        if (o.Schedule is not ("cosine" or "constant")) throw new SettingException("Schedule", $"must be cosine or constant, not '{o.Schedule}'");
        SettingException.Check("Data", () => InputFile.Require(o.DataPath, null));
        if (o.ValDataPath is not null) SettingException.Check("ValData", () => InputFile.Require(o.ValDataPath, null));
        SettingException.Check("OutDir", () => OutputPath.RequireFolder(o.OutDir, null));
        RunFolder.CheckStart(o.OutDir, o.Resume, Checkpoint.IsCheckpoint(o.OutDir), "checkpoint");
    }

    private static (ICausalLm, TrainingState) LoadForResume(TrainOptions o, IBackend backend)
    {
        var (model, state) = Checkpoint.Load(o.OutDir, backend, withOptimizer: true);
        if (!state.HasOptimizer)
        {
            model.Dispose();
            throw new InvalidDataException($"{Path.Combine(o.OutDir, Checkpoint.StateFile)}: the checkpoint has no optimizer state to resume from");
        }
        return (model, state);
    }

    /// <summary>A fresh model from a preset, a config.json or a checkpoint folder (fine-tuning starts at step 0).</summary>
    private static (ICausalLm, TrainingState) Create(TrainOptions o, IBackend backend)
    {
        if (Directory.Exists(o.Model))
        {
            var (model, loaded) = Checkpoint.Load(o.Model, backend);
            model.Step = 0;
            return (model, new TrainingState { Tokenizer = loaded.Tokenizer, Seed = o.Seed });
        }
        IModelConfig config;
        if (File.Exists(o.Model)) config = Checkpoint.ReadConfig(o.Model);
        else config = Architectures.Preset(o.Model)
            ?? throw new SettingException("Model", $"'{o.Model}' is not a preset ({string.Join(", ", Architectures.PresetNames)}), a config.json or a checkpoint folder");
        var fresh = Architectures.Create(config, backend);
        fresh.InitializeWeights(o.Seed);
        return (fresh, new TrainingState { Tokenizer = config.VocabSize == 256 ? "byte" : "gpt2", Seed = o.Seed });
    }

    private static Dictionary<string, string> Settings(TrainOptions o, int T, string tokenizer) => OptimizerFlags.AddTo(new()
    {
        ["data"] = Path.GetFullPath(o.DataPath),
        ["val_data"] = o.ValDataPath is null ? "" : Path.GetFullPath(o.ValDataPath),
        ["val_fraction"] = o.ValFraction.ToString(CultureInfo.InvariantCulture),
        ["tokenizer"] = tokenizer,
    }, o.Steps, o.Batch, T, o.Lr, o.Warmup, o.Schedule, o.WeightDecay, o.GradClip);

    private static void Save(string dir, ICausalLm model, ITokenizer tokenizer, ulong seed, long position, Dictionary<string, string> settings) =>
        Checkpoint.Save(dir, model, new TrainingState { Step = model.Step, DataPosition = position, Seed = seed, Train = settings },
            withOptimizer: true, tokenizer);

    private static string LogLine(TrainProgress p)
    {
        var o = new JsonObject
        {
            ["step"] = p.Step,
            ["loss"] = p.Loss,
            ["lr"] = p.Lr,
            ["grad_norm"] = Math.Round(p.GradNorm, 6),
            ["ms"] = Math.Round(p.StepMs, 2),
            ["tokens_per_s"] = Math.Round(p.TokensPerS, 1),
        };
        if (p.ValLoss is double v) o["val_loss"] = v;
        if (p.CommBytes > 0)
        {
            o["comm_bytes"] = p.CommBytes;
            o["comm_ms"] = Math.Round(p.CommMs, 3);
        }
        return o.ToJsonString();
    }

    private sealed record LogEntry(int Step, double Loss, double? ValLoss);

    private static LogEntry? ReadLog(string line)
    {
        try
        {
            var n = JsonNode.Parse(line);
            if (n is null) return null;
            // A skipped step (--on-nonfinite skip) has no loss: NaN, left out of the plot.
            return new LogEntry(n["step"]!.GetValue<int>(), n["loss"]?.GetValue<double>() ?? double.NaN, n["val_loss"]?.GetValue<double>());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            return null; // a line cut by a crash
        }
    }

    private static double? LastValLoss(string logPath) =>
        File.ReadLines(logPath).Select(ReadLog).LastOrDefault(e => e?.ValLoss is not null)?.ValLoss;

    private static string? WritePlot(string dir, string logPath)
    {
        var entries = File.ReadLines(logPath).Select(ReadLog).OfType<LogEntry>().Where(e => double.IsFinite(e.Loss) || e.ValLoss is not null).ToList();
        if (entries.Count == 0) return null;
        var withVal = entries.Where(e => e.ValLoss is not null).ToList();
        string path = Path.Combine(dir, PlotFile);
        LinePlot.Save(path, "training loss", "step", "loss (nats/token)",
        [
            new Series("train", entries.Select(e => (double)e.Step).ToList(), entries.Select(e => e.Loss).ToList()),
            new Series("held-out", withVal.Select(e => (double)e.Step).ToList(), withVal.Select(e => e.ValLoss!.Value).ToList()),
        ]);
        return path;
    }
}
