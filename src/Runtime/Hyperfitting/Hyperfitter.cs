using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.Distributed;
using Hyper.Runtime.Generation;
using Hyper.Runtime.IO;
using Hyper.Runtime.Metrics;
using Hyper.Runtime.Models;
using Hyper.Runtime.Plotting;
using Hyper.Runtime.Text;
using Hyper.Runtime.Training;

namespace Hyper.Runtime.Hyperfitting;

/// <summary>
/// `hyper hyperfit`: fine-tunes a pretrained model on a small fixed set of sequences until the training
/// loss is near zero (Carlsson et al., "The Hyperfitting Phenomenon", ICLR 2025), measuring after every
/// epoch what the paper tracks: train and held-out loss, prediction entropy and top-1 probability on
/// held-out text, and the greedy TTR on held-out prompts.
/// </summary>
public static class Hyperfitter
{
    /// <summary>The per-epoch log inside the out folder.</summary>
    public const string LogFile = "log.jsonl";
    /// <summary>The curves' PNG inside the out folder.</summary>
    public const string PlotFile = "hyperfit.png";
    /// <summary>The hyperfitting sequences as text (blank-line separated), for overlap and the citation blocker.</summary>
    public const string SequencesFile = "hyperfit-data.txt";
    /// <summary>The held-out tail of the data as text, for prompts and perplexity.</summary>
    public const string HeldOutFile = "heldout.txt";

    /// <summary>Least time between two end-of-epoch checkpoints (the last epoch and Ctrl-C always save).</summary>
    public static readonly TimeSpan SaveInterval = TimeSpan.FromSeconds(60);

    /// <summary>Runs the hyperfitting; on cancellation it saves the model as it stands and returns.</summary>
    /// <param name="o">What to do.</param>
    /// <param name="progress">Called after every optimizer step.</param>
    /// <param name="epochDone">Called with epoch 0 (the starting model) and after every epoch.</param>
    /// <param name="info">One-line notes (what was loaded, what is being measured).</param>
    /// <param name="cancel">Stops after the current step.</param>
    public static HyperfitResult Run(HyperfitOptions o, Action<HyperfitProgress>? progress = null, Action<HyperfitEpoch>? epochDone = null,
        Action<string>? info = null, CancellationToken cancel = default)
    {
        Validate(o);
        // Data-parallel: every rank runs this loop on its rows of each batch; rank 0 alone writes and reports.
        using var dp = new DataParallel(o.Collectives, o.GradientBucketBytes);
        dp.LocalBatch(o.Batch);
        if (!dp.IsLeader) { progress = null; epochDone = null; info = null; }
        var clock = Stopwatch.StartNew();
        using var backend = BackendRegistry.Create(o.Device);
        var settings = Settings(o, Path.GetFullPath(o.ModelDir));
        var (model, state) = o.Resume ? LoadForResume(o, backend, settings) : Checkpoint.Load(o.ModelDir, backend);
        using var _ = model;
        // Where a resumed run stopped: epochs done, and steps (with their summed loss) into the next.
        var (epochsDone, stepsDone, lossSumDone, skippedDone) = o.Resume ? Position(state) : (0, 0, 0.0, 0);
        if (o.Resume && epochsDone >= o.Epochs && stepsDone == 0)
        {
            string dir = Path.GetFullPath(o.OutDir);
            return new HyperfitResult(dir, ReadLog(Path.Combine(o.OutDir, LogFile), epochsDone), model.Step, 0, 0, false,
                Path.Combine(dir, PlotFile), Path.Combine(dir, SequencesFile), Path.Combine(dir, HeldOutFile)) { NothingToDo = true };
        }
        if (!o.Resume) model.Step = 0; // a fresh Adam: its bias correction starts over
        if (!o.Resume) dp.BroadcastParameters(model);
        if (o.TrainLastBlocks is int n && n > model.Config.Layers)
            throw new SettingException("TrainLastBlocks", $"last:{n}: {o.ModelDir} has only {model.Config.Layers} blocks");
        model.TrainLastBlocks = o.TrainLastBlocks;
        var tokenizer = ModelTokenizer.Of(o.Resume ? o.OutDir : o.ModelDir, state, model.Config);
        int T = o.Seq, B = o.Batch;
        if (T > model.Config.Context)
            throw new SettingException("Seq", $"{T} exceeds the model's context of {model.Config.Context} tokens (n_positions)");

        info?.Invoke($"tokenizing {o.DataPath} ({tokenizer.Name})");
        var (train, heldOut) = HyperfitData.Split(TokenCorpus.Load(o.DataPath, tokenizer), o.ValFraction, T + 1, o.DataPath);
        // Each sequence is T+1 tokens: T inputs and, one later, T targets.
        var sequences = HyperfitData.Choose(train, o.Samples, T + 1, o.Seed);
        List<int[]> promptIds = [];
        // The probe is a measurement: on a short context it shrinks (and says so) rather than ending the run.
        var probe = o.Prompts > 0 ? TtrProbe.Fit(o.PromptTokens, o.NewTokens, model.Config.Context) : null;
        if (o.Prompts > 0 && probe is null)
            info?.Invoke($"greedy-TTR probe off: the model's context of {model.Config.Context} token cannot hold a prompt and a continuation");
        if (probe is not null)
        {
            if (probe.Shrunk) info?.Invoke(probe.Note(o.PromptTokens, o.NewTokens, model.Config.Context));
            var passages = HeldOutPrompts.Passages(tokenizer.Decode(heldOut), o.Prompts, probe.PromptTokens, [tokenizer], $"{o.DataPath} (held-out tail)");
            promptIds = passages.Select(p => HeldOutPrompts.Prefix(p, probe.PromptTokens, tokenizer)!).ToList();
            TextGenerator.Validate(promptIds, model.Config, new GenerationOptions { MaxNewTokens = probe.NewTokens });
        }
        info?.Invoke($"model: {model.Config.Layers} layers, {model.Config.Channels} channels, {model.Layout.Parameters:N0} parameters" +
                     (o.TrainLastBlocks is int k ? $" (training {TrainedParameters(model.Layout, k):N0}: the last {k} blocks, the final norm" +
                         (model.Layout.Entries.Any(e => e.Part == LayoutPart.Head) ? " and the untied output head)" : ")") : " (all trained)") +
                     $"; {sequences.Length} sequences of {T} tokens from the first {train.Length:N0} tokens, {heldOut.Length:N0} held out");

        Directory.CreateDirectory(o.OutDir);
        string sequencesPath = Path.Combine(o.OutDir, SequencesFile), heldOutPath = Path.Combine(o.OutDir, HeldOutFile);
        if (dp.IsLeader)
        {
            AtomicFile.WriteAllText(sequencesPath, string.Join("\n\n", sequences.Select(s => tokenizer.Decode(s))) + "\n");
            AtomicFile.WriteAllText(heldOutPath, tokenizer.Decode(heldOut));
        }
        string logPath = Path.Combine(o.OutDir, LogFile);
        var adam = new AdamWSettings { WeightDecay = o.WeightDecay, GradClip = o.GradClip };

        var epochs = o.Resume ? ReadLog(logPath, epochsDone, trim: dp.IsLeader) : [];
        int stepsPerEpoch = (sequences.Length + B - 1) / B;
        var inputs = new int[B * T];
        var targets = new int[B * T];
        var rng = new Rng(o.Seed ^ 0x9E3779B97F4A7C15UL); // the order within epochs, apart from the choice of sequences
        long tokensDone = 0;
        double trainSeconds = 0;
        bool interrupted = false;
        long lastSave = Stopwatch.GetTimestamp();
        var guard = new NonFiniteGuard(o.OnNonFinite);
        int savedEpoch = o.Resume ? epochsDone : -1;
        string Kept() => savedEpoch < 0 ? $"no checkpoint was saved to {o.OutDir} yet" : $"{o.OutDir} keeps the checkpoint after epoch {savedEpoch}";
        if (o.Resume)
        {
            // The sequence order of every epoch comes from one stream: replay the epochs already done.
            for (int e = 1; e <= epochsDone; e++) HyperfitData.Shuffle(sequences, rng);
            info?.Invoke($"resuming after epoch {epochsDone}" + (stepsDone > 0 ? $" and {stepsDone} steps of the next" : "") + $" (update {model.Step})");
        }
        if (!o.Resume && dp.IsLeader) File.WriteAllText(logPath, ""); // a new run's log starts empty
        using (TextWriter log = dp.IsLeader ? RunFolder.AppendLog(logPath) : TextWriter.Null)
        {
            void Measure(int epoch, double? trainLoss)
            {
                var stats = PredictionStats.Evaluate(model, heldOut, T, o.EvalWindows, B);
                if (!double.IsFinite(stats.Loss))
                    throw new TrainingDivergedException($"training diverged: the held-out loss after epoch {epoch} is {stats.Loss}; {Kept()} (lower the learning rate)");
                double? ttr = null;
                if (promptIds.Count > 0)
                {
                    var generations = new TextGenerator(model, tokenizer).Generate(promptIds, SamplingSettings.Greedy,
                        new GenerationOptions { MaxNewTokens = probe!.NewTokens, MaxBatch = B, StopAtEndOfText = false });
                    ttr = GenerationMetrics.Compute(generations.Select(g => g.TokenIds).ToList()).Ttr;
                }
                var e = new HyperfitEpoch(epoch, trainLoss, stats.Loss, stats.Entropy, stats.Top1, ttr, clock.Elapsed.TotalSeconds);
                epochs.Add(e);
                log.WriteLine(LogLine(e));
                epochDone?.Invoke(e);
            }

            if (!o.Resume) Measure(0, null);
            int stoppedEpoch = epochsDone, stoppedStep = 0, stoppedSkipped = 0;
            double stoppedLossSum = 0;
            for (int epoch = epochsDone + 1; epoch <= o.Epochs && !interrupted; epoch++)
            {
                HyperfitData.Shuffle(sequences, rng);
                bool resumedHere = epoch == epochsDone + 1;
                double lossSum = resumedHere ? lossSumDone : 0;
                int skipped = resumedHere ? skippedDone : 0; // sequences of this epoch whose update was skipped
                for (int s = resumedHere ? stepsDone : 0; s < stepsPerEpoch; s++)
                {
                    if (dp.StopRequested(cancel))
                    {
                        interrupted = true;
                        (stoppedEpoch, stoppedStep, stoppedLossSum, stoppedSkipped) = (epoch - 1, s, lossSum, skipped);
                        break;
                    }
                    long t0 = Stopwatch.GetTimestamp();
                    int b = Math.Min(B, sequences.Length - s * B);
                    var (first, rows) = dp.Rows(b);
                    for (int i = 0; i < rows; i++)
                    {
                        var seq = sequences[s * B + first + i];
                        seq.AsSpan(0, T).CopyTo(inputs.AsSpan(i * T));
                        seq.AsSpan(1, T).CopyTo(targets.AsSpan(i * T));
                    }
                    model.ZeroGradients();
                    float loss = 0;
                    dp.BeginBackward(model); // every rank, rows or not: the buckets are collective calls
                    if (rows > 0)
                    {
                        loss = model.Forward(inputs.AsSpan(0, rows * T), targets.AsSpan(0, rows * T), rows, T);
                        model.Backward(dp.LossScale(rows, b));
                    }
                    loss = dp.AllReduceGradients(model, loss, rows, b, cancel.IsCancellationRequested);
                    double norm = model.GradientNorm();
                    trainSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    tokensDone += b * T;
                    if (!guard.Admit(model.Step + 1, loss, norm, Kept()))
                    {
                        // Skipped: no update, and its loss stays out of the epoch's mean.
                        skipped += b;
                        info?.Invoke($"epoch {epoch}, step {s + 1}: {NonFiniteGuard.Problem(loss, norm)}; update skipped (non-finite steps are skipped)");
                        continue;
                    }
                    model.Update(o.Lr, adam, norm);
                    // Weighted by the batch's size, so a short last batch counts for what it holds.
                    lossSum += (double)loss * b;
                    double tps = tokensDone / trainSeconds;
                    long left = ((long)(o.Epochs - epoch) * stepsPerEpoch + stepsPerEpoch - s - 1) * B * T;
                    progress?.Invoke(new HyperfitProgress(epoch, o.Epochs, s + 1, stepsPerEpoch, loss, tps, RunFolder.Eta(left, tokensDone, TimeSpan.FromSeconds(trainSeconds))));
                }
                if (interrupted) break;
                stoppedEpoch = epoch;
                Measure(epoch, skipped < sequences.Length ? lossSum / (sequences.Length - skipped) : null);
                // A checkpoint at the end of an epoch at most every SaveInterval, so a crash or kill loses little
                // work, yet runs of a few sequences (hundreds of one-step epochs) do not spend their time writing.
                if (dp.IsLeader && Stopwatch.GetElapsedTime(lastSave) >= SaveInterval)
                {
                    Save(o.OutDir, model, tokenizer, o.Seed, epoch, 0, 0, 0, settings);
                    lastSave = Stopwatch.GetTimestamp();
                    savedEpoch = epoch;
                }
            }
            // Interrupted mid-epoch, the weights are past the last whole epoch: the position says by how much.
            if (dp.IsLeader) Save(o.OutDir, model, tokenizer, o.Seed, stoppedEpoch, stoppedStep, stoppedLossSum, stoppedSkipped, settings);
        }
        string plot = Path.Combine(o.OutDir, PlotFile);
        if (dp.IsLeader) WritePlot(plot, epochs);
        dp.Collectives.Barrier(); // the job ends once the final checkpoint is whole
        return new HyperfitResult(Path.GetFullPath(o.OutDir), epochs, model.Step, trainSeconds > 0 ? tokensDone / trainSeconds : 0,
            clock.Elapsed.TotalSeconds, interrupted, plot, sequencesPath, heldOutPath) { TtrProbe = probe };
    }

    /// <summary>Parses --train-layers: "all" (null) or "last:N" with N ≥ 1.</summary>
    public static int? ParseTrainLayers(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec == "all") return null;
        if (spec.StartsWith("last:", StringComparison.Ordinal)
            && int.TryParse(spec.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1)
            return n;
        throw new SettingException("TrainLastBlocks", $"'{spec}': expected 'all' or 'last:N' with N >= 1");
    }

    private static void Validate(HyperfitOptions o)
    {
        if (o.Samples < 1) throw new SettingException("Samples", $"{o.Samples} must be at least 1");
        if (o.Seq < 1) throw new SettingException("Seq", $"{o.Seq} must be at least 1");
        if (o.Epochs < 1) throw new SettingException("Epochs", $"{o.Epochs} must be at least 1");
        if (o.Batch < 1) throw new SettingException("Batch", $"{o.Batch} must be at least 1");
        if (!(o.Lr > 0) || !float.IsFinite(o.Lr)) throw new SettingException("Lr", $"{o.Lr} must be a positive number");
        if (o.WeightDecay < 0) throw new SettingException("WeightDecay", "must not be negative");
        if (o.TrainLastBlocks is < 1) throw new SettingException("TrainLastBlocks", $"last:{o.TrainLastBlocks} must name at least one block");
        if (!(o.ValFraction > 0 && o.ValFraction < 1)) throw new SettingException("ValFraction", $"{o.ValFraction} must be in (0, 1): held-out text is measured every epoch");
        if (o.EvalWindows < 1) throw new SettingException("EvalWindows", $"{o.EvalWindows} must be at least 1");
        if (o.Prompts < 0) throw new SettingException("Prompts", $"{o.Prompts} must not be negative");
        if (o.PromptTokens < 1) throw new SettingException("PromptTokens", $"{o.PromptTokens} must be at least 1");
        if (o.NewTokens < 1) throw new SettingException("NewTokens", $"{o.NewTokens} must be at least 1");
        if (!Directory.Exists(o.ModelDir)) throw new SettingException("Model", $"{o.ModelDir}: no such folder");
        if (!Checkpoint.IsCheckpoint(o.ModelDir)) throw new SettingException("Model", $"{o.ModelDir}: not a checkpoint folder (no config.json)");
        SettingException.Check("Data", () => InputFile.Require(o.DataPath, null));
        SettingException.Check("OutDir", () => OutputPath.RequireFolder(o.OutDir, null));
        if (Path.GetFullPath(o.OutDir) == Path.GetFullPath(o.ModelDir))
            throw new SettingException("OutDir", $"{o.OutDir} is the folder of the model to hyperfit: the pretrained model would be overwritten");
        RunFolder.CheckStart(o.OutDir, o.Resume, Checkpoint.IsCheckpoint(o.OutDir), "checkpoint");
    }

    private static Dictionary<string, string> Settings(HyperfitOptions o, string modelDir) => new()
    {
        ["hyperfit_from"] = modelDir,
        ["data"] = Path.GetFullPath(o.DataPath),
        ["val_fraction"] = o.ValFraction.ToString(CultureInfo.InvariantCulture),
        ["samples"] = o.Samples.ToString(CultureInfo.InvariantCulture),
        ["seq"] = o.Seq.ToString(CultureInfo.InvariantCulture),
        ["epochs"] = o.Epochs.ToString(CultureInfo.InvariantCulture),
        ["batch"] = o.Batch.ToString(CultureInfo.InvariantCulture),
        ["lr"] = o.Lr.ToString(CultureInfo.InvariantCulture),
        ["weight_decay"] = o.WeightDecay.ToString(CultureInfo.InvariantCulture),
        ["grad_clip"] = o.GradClip.ToString(CultureInfo.InvariantCulture),
        ["train_layers"] = o.TrainLastBlocks is int n ? $"last:{n}" : "all",
        ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
    };

    private static long TrainedParameters(ParameterLayout layout, int lastBlocks) => layout.Entries.Sum(e => layout.Trainable(e, lastBlocks).Count);

    /// <summary>Saves the model with Adam's state and the run's position, so --resume continues bit-exactly.</summary>
    private static void Save(string dir, ICausalLm model, ITokenizer tokenizer, ulong seed, int epochsDone, int stepsDone, double lossSum, int skipped,
        Dictionary<string, string> settings)
    {
        var train = new Dictionary<string, string>(settings)
        {
            ["epochs_done"] = epochsDone.ToString(CultureInfo.InvariantCulture),
            ["epoch_steps_done"] = stepsDone.ToString(CultureInfo.InvariantCulture),
            ["epoch_loss_sum"] = lossSum.ToString("R", CultureInfo.InvariantCulture),
            ["epoch_skipped"] = skipped.ToString(CultureInfo.InvariantCulture),
        };
        Checkpoint.Save(dir, model, new TrainingState { Step = model.Step, Seed = seed, Train = train }, withOptimizer: true, tokenizer);
    }


    private static (ICausalLm, TrainingState) LoadForResume(HyperfitOptions o, IBackend backend, Dictionary<string, string> settings)
    {
        string statePath = Path.Combine(o.OutDir, Checkpoint.StateFile);
        var (model, state) = Checkpoint.Load(o.OutDir, backend, withOptimizer: true);
        try
        {
            var saved = state.Train ?? [];
            if (!state.HasOptimizer || !saved.ContainsKey("epochs_done"))
                throw new InvalidDataException($"{statePath}: not a hyperfit checkpoint with optimizer state (nothing to resume)");
            ResumeSettings.Check(settings, saved, statePath, "epochs");
            return (model, state);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static (int Epochs, int Steps, double LossSum, int Skipped) Position(TrainingState state)
    {
        var t = state.Train!;
        int Int(string key) => t.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0
            ? n : throw new InvalidDataException($"{Checkpoint.StateFile}: '{key}' is missing or not a count");
        double sum = t.TryGetValue("epoch_loss_sum", out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : 0;
        return (Int("epochs_done"), t.ContainsKey("epoch_steps_done") ? Int("epoch_steps_done") : 0, sum, t.ContainsKey("epoch_skipped") ? Int("epoch_skipped") : 0);
    }

    /// <summary>
    /// The logged epochs 0..<paramref name="upTo"/> of the run being resumed; with
    /// <paramref name="trim"/>, the log is cut back to them (epochs logged after the last
    /// checkpoint are run again, and must not be logged twice).
    /// </summary>
    private static List<HyperfitEpoch> ReadLog(string path, int upTo, bool trim = false)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: missing; the run to resume wrote it");
        bool Kept(JsonObject l) => RunFolder.Int(l, "epoch") is int e && e <= upTo;
        var lines = trim ? RunFolder.TrimLog(path, Kept) : RunFolder.ReadLog(path).Where(Kept).ToList();
        var epochs = new List<HyperfitEpoch>();
        foreach (var o in lines)
        {
            double Number(string key) => o[key] is JsonValue v && v.TryGetValue(out double d) ? d
                : throw new InvalidDataException($"{path}: epoch {o["epoch"]} has no number '{key}'");
            double? Optional(string key) => o[key] is null ? null : Number(key);
            epochs.Add(new HyperfitEpoch(RunFolder.Int(o, "epoch")!.Value, Optional("train_loss"), Number("heldout_loss"),
                Number("entropy"), Number("top1"), Optional("ttr"), Number("seconds")));
        }
        if (epochs.Count == 0 || epochs[^1].Epoch != upTo)
            throw new InvalidDataException($"{path}: does not log epoch {upTo}, where the checkpoint stopped");
        return epochs;
    }

    private static string LogLine(HyperfitEpoch e)
    {
        var o = new JsonObject { ["epoch"] = e.Epoch };
        if (e.TrainLoss is double t) o["train_loss"] = t;
        o["heldout_loss"] = e.HeldOutLoss;
        o["entropy"] = e.Entropy;
        o["top1"] = e.Top1;
        if (e.Ttr is double r) o["ttr"] = r;
        o["seconds"] = Math.Round(e.Seconds, 2);
        return o.ToJsonString();
    }

    private static string WritePlot(string path, IReadOnlyList<HyperfitEpoch> epochs)
    {
        var x = epochs.Select(e => (double)e.Epoch).ToList();
        var trained = epochs.Where(e => e.TrainLoss is not null).ToList();
        var withTtr = epochs.Where(e => e.Ttr is not null).ToList();
        LinePlot.SaveGrid(path, "hyperfitting",
        [
            new Panel("loss", "epoch", "nats/token",
            [
                new Series("train", trained.Select(e => (double)e.Epoch).ToList(), trained.Select(e => e.TrainLoss!.Value).ToList()),
                new Series("held-out", x, epochs.Select(e => e.HeldOutLoss).ToList()),
            ]),
            new Panel("held-out entropy", "epoch", "nats", [new Series("entropy", x, epochs.Select(e => e.Entropy).ToList())]),
            new Panel("held-out top-1 probability", "epoch", "probability", [new Series("top-1", x, epochs.Select(e => e.Top1).ToList())]),
            new Panel("greedy TTR (x100)", "epoch", "TTR", [new Series("TTR", withTtr.Select(e => (double)e.Epoch).ToList(), withTtr.Select(e => e.Ttr!.Value).ToList())]),
        ], columns: 2);
        return path;
    }
}
