using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Plotting;
using Hyper.Runtime.Text;
using Hyper.Runtime.Training;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// `hyper hypernet train`: one hypernetwork conditioned on γ ∈ [0, 1] generating a GPT-2
/// trained on γ·loss(A) + (1 − γ)·loss(B), γ drawn uniformly per sample. Held-out loss (the
/// mixture loss at γ = 0, ½ and 1, averaged) every --eval-every steps; the first evaluation at
/// or below the target loss is steps_to_target. Writes the checkpoint, log.jsonl and loss.png.
/// </summary>
public static class HyperTrainer
{
    /// <summary>The γ values of every held-out evaluation.</summary>
    public static readonly float[] EvalGammas = [0f, 0.5f, 1f];

    /// <summary>Runs a training; stops early, saving, when <paramref name="cancel"/> fires.</summary>
    public static HyperTrainResult Run(HyperTrainOptions o, Action<TrainProgress>? progress = null, Action<string>? info = null, CancellationToken cancel = default)
    {
        Validate(o);
        var given = (File.Exists(o.Model) ? Checkpoint.ReadConfig(o.Model) : Architectures.Preset(o.Model))
            ?? throw new SettingException("Model", $"'{o.Model}' is not a preset ({string.Join(", ", Architectures.PresetNames)}) or a config.json");
        var config = given as Gpt2Config
            ?? throw new SettingException("Model", $"{o.Model}: the hypernetwork generates GPT-2 targets, not {given.ModelType}");
        int B = o.Batch, T = o.Seq == 0 ? config.NPositions : o.Seq;
        if (T > config.NPositions) throw new SettingException("Seq", $"{T} exceeds the model's n_positions ({config.NPositions})");
        var tokenizer = Tokenizers.Create(config.VocabSize == 256 ? "byte" : "gpt2");
        var (trainA, valA) = LoadSplit(o.DataA, "DataA", tokenizer, o.ValFraction, T, info);
        var (trainB, valB) = LoadSplit(o.DataB, "DataB", tokenizer, o.ValFraction, T, info);

        var settings = Settings(o, T);
        using var backend = BackendRegistry.Create(o.Device);
        var (hyper, target, resumed) = o.Resume ? LoadForResume(o, backend, settings) : Fresh(o, config, backend);
        var model = target.Model;
        using var _ = model;
        using var __ = hyper;
        if (resumed is not null && hyper.Step >= o.Steps)
            return new HyperTrainResult(Path.GetFullPath(o.OutDir), hyper.Step, double.NaN, double.NaN, null, o.TargetLoss, [], 0, hyper.Parameters.Length,
                model.Layout.Parameters, false, Path.Combine(o.OutDir, Trainer.LogFile), Path.Combine(o.OutDir, Trainer.PlotFile), settings) { NothingToDo = true };
        var objective = new MixtureObjective(target, T);
        // The data order and the γ draws continue where a resumed run stopped, so it repeats the
        // uninterrupted run step for step.
        var samplerA = resumed is null ? new BatchSampler(trainA, B, T, o.Seed) : BatchSampler.Restore(trainA, B, T, o.Seed, resumed.SamplerPositions![0]);
        var samplerB = resumed is null ? new BatchSampler(trainB, B, T, o.Seed + 1) : BatchSampler.Restore(trainB, B, T, o.Seed + 1, resumed.SamplerPositions![1]);
        var gammaRng = new Rng(o.Seed ^ 0xD1B54A32D192ED03UL);
        if (resumed is not null) gammaRng.State = resumed.GammaRng;
        info?.Invoke($"target: {config.NLayer} layers, {config.NEmbd} channels, {model.Layout.Parameters:N0} parameters; hypernetwork: " +
                     $"{o.Network.Encoding} encoding, residual {(o.Network.Residual ? "on" : "off")}, hidden [{string.Join(", ", o.Network.Hidden)}], " +
                     $"{hyper.Parameters.Length:N0} parameters; B={B}, T={T}, {o.Steps} steps");

        var schedule = new LearningRateSchedule(o.Lr, o.Warmup, o.Steps, o.Schedule == "cosine");
        var adam = new AdamWSettings { WeightDecay = o.WeightDecay, GradClip = o.GradClip };
        Directory.CreateDirectory(o.OutDir);
        string logPath = Path.Combine(o.OutDir, Trainer.LogFile);
        var inA = new int[B * T];
        var tgA = new int[B * T];
        var inB = new int[B * T];
        var tgB = new int[B * T];
        var gammas = new float[B];
        var trainLosses = new List<double>();
        var evalSteps = new List<double>();
        var evalLosses = new List<double>();
        double[] byGamma = [];
        int? stepsToTarget = null;
        bool interrupted = false;
        var clock = Stopwatch.StartNew();

        string keptNote = resumed is null ? $"no checkpoint was saved to {o.OutDir} yet" : $"{o.OutDir} keeps the checkpoint of step {hyper.Step}";
        double Evaluate(JsonObject line)
        {
            byGamma = EvalGammas.Select(g => objective.Evaluate(hyper, g, valA, valB, o.EvalWindows, B)).ToArray();
            double mean = byGamma.Average();
            if (!double.IsFinite(mean))
                throw new TrainingDivergedException($"training diverged: the held-out loss at step {hyper.Step} is {mean}; {keptNote} (lower the learning rate)");
            line["eval_loss"] = mean;
            for (int i = 0; i < EvalGammas.Length; i++) line[$"eval_gamma_{EvalGammas[i].ToString(CultureInfo.InvariantCulture)}"] = byGamma[i];
            evalSteps.Add(hyper.Step);
            evalLosses.Add(mean);
            if (stepsToTarget is null && mean <= o.TargetLoss) stepsToTarget = hyper.Step;
            return mean;
        }

        if (resumed is not null)
        {
            // The curves so far come back from the log; lines past the checkpoint, and the extra
            // evaluation an interruption adds, are dropped so the log reads as one run.
            var kept = RunFolder.TrimLog(logPath, line =>
                RunFolder.Int(line, "step") is int step && step <= hyper.Step && (step == 0 || line["loss"] is not null || line["skipped"] is not null));
            foreach (var line in kept)
            {
                int step = RunFolder.Int(line, "step")!.Value;
                bool skipped = line["skipped"] is not null;
                if (line["loss"] is { } l) trainLosses.Add(l.GetValue<double>());
                else if (skipped) trainLosses.Add(double.NaN); // one point per step; the plot leaves it out
                if (line["eval_loss"] is { } e)
                {
                    evalSteps.Add(step);
                    evalLosses.Add(e.GetValue<double>());
                    if (stepsToTarget is null && e.GetValue<double>() <= o.TargetLoss) stepsToTarget = step;
                    byGamma = EvalGammas.Select(g => line[$"eval_gamma_{g.ToString(CultureInfo.InvariantCulture)}"]!.GetValue<double>()).ToArray();
                }
            }
            info?.Invoke($"resuming at step {hyper.Step} of {o.Steps}");
        }
        var guard = new NonFiniteGuard(o.OnNonFinite);
        if (resumed is null) File.WriteAllText(logPath, ""); // a new run's log starts empty
        int startStep = hyper.Step;
        using (var log = RunFolder.AppendLog(logPath))
        {
            if (resumed is null)
            {
                var first = new JsonObject { ["step"] = 0 };
                info?.Invoke($"held-out loss before training: {Evaluate(first):F4}");
                log.WriteLine(first.ToJsonString());
            }
            while (hyper.Step < o.Steps)
            {
                if (cancel.IsCancellationRequested) { interrupted = true; break; }
                long t0 = Stopwatch.GetTimestamp();
                samplerA.Next(inA, tgA);
                samplerB.Next(inB, tgB);
                for (int i = 0; i < B; i++) gammas[i] = (float)gammaRng.NextDouble();
                hyper.ZeroGradients();
                double loss = objective.Accumulate(hyper, gammas, inA, tgA, inB, tgB, 1f / B);
                float lr = schedule.At(hyper.Step);
                double norm = hyper.GradientNorm();
                if (!guard.Admit(hyper.Step + 1, loss, norm, keptNote))
                {
                    // The step counts (the schedule and the data move on) but changes nothing.
                    hyper.Step++;
                    trainLosses.Add(double.NaN);
                    log.WriteLine(new JsonObject { ["step"] = hyper.Step, ["skipped"] = NonFiniteGuard.Problem(loss, norm) }.ToJsonString());
                    info?.Invoke($"step {hyper.Step}: {NonFiniteGuard.Problem(loss, norm)}; update skipped (non-finite steps are skipped)");
                    continue;
                }
                hyper.Update(lr, adam, norm);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                trainLosses.Add(loss);
                var line = new JsonObject { ["step"] = hyper.Step, ["loss"] = loss, ["lr"] = lr, ["grad_norm"] = Math.Round(norm, 6), ["ms"] = Math.Round(ms, 2) };
                double? eval = null;
                if ((o.EvalEvery > 0 && hyper.Step % o.EvalEvery == 0) || hyper.Step == o.Steps) eval = Evaluate(line);
                log.WriteLine(line.ToJsonString());
                // Rates from this process's steps only (a resumed run's earlier steps took no time here).
                double tps = (hyper.Step - startStep) * 2.0 * B * T / clock.Elapsed.TotalSeconds;
                var eta = RunFolder.Eta(o.Steps - hyper.Step, hyper.Step - startStep, clock.Elapsed);
                progress?.Invoke(new TrainProgress(hyper.Step, o.Steps, (float)loss, lr, norm, ms, tps, eta, eval));
            }
        }
        if (interrupted && (evalSteps.Count == 0 || evalSteps[^1] != hyper.Step))
        {
            var line = new JsonObject { ["step"] = hyper.Step };
            Evaluate(line);
            File.AppendAllText(logPath, line.ToJsonString() + "\n");
        }
        HyperCheckpoint.Save(o.OutDir, hyper, new HyperState
        {
            Options = o.Network, Target = config, Tokenizer = tokenizer.Name, Step = hyper.Step, Seed = o.Seed, Train = settings,
            HasOptimizer = true, SamplerPositions = [samplerA.Position, samplerB.Position], GammaRng = gammaRng.State,
        });
        string plot = Path.Combine(o.OutDir, Trainer.PlotFile);
        LinePlot.Save(plot, "hypernetwork: mixture loss", "step", "loss (nats/token)",
        [
            Series.Indexed("train", trainLosses, x0: 1),
            new Series("held-out", evalSteps, evalLosses),
        ]);
        var lastLosses = trainLosses.TakeLast(20).Where(double.IsFinite).ToList();
        double finalTrain = lastLosses.Count == 0 ? double.NaN : lastLosses.Average();
        return new HyperTrainResult(Path.GetFullPath(o.OutDir), hyper.Step, evalLosses[^1], finalTrain, stepsToTarget, o.TargetLoss, byGamma,
            clock.Elapsed.TotalSeconds, hyper.Parameters.Length, model.Layout.Parameters, interrupted, logPath, plot, settings);
    }

    private static (int[] Train, int[] Val) LoadSplit(string path, string setting, ITokenizer tokenizer, double valFraction, int T, Action<string>? info)
    {
        info?.Invoke($"tokenizing {path} ({tokenizer.Name})");
        var all = TokenCorpus.Load(path, tokenizer);
        try
        {
            var (train, val) = DataSplit.Split(all, valFraction, T + 1);
            if (train.Length < T + 1 || val.Length < T + 1) throw new ArgumentException($"too short to hold out {valFraction} and keep a window of {T + 1} tokens on each side");
            return (train, val);
        }
        catch (ArgumentException e)
        {
            throw new SettingException(setting, $"{path}: {all.Length} tokens: {e.Message.Replace($" (Parameter '{e.ParamName}')", "")}");
        }
    }

    private static void Validate(HyperTrainOptions o)
    {
        OptimizerFlags.Validate(o.Batch, o.Steps, o.Seq, o.Lr, o.Warmup, o.WeightDecay);
        if (o.EvalWindows < 1) throw new SettingException("EvalWindows", "must be at least 1");
        if (o.ValFraction <= 0 || o.ValFraction >= 1) throw new SettingException("ValFraction", "must be in (0, 1)");
        if (!double.IsFinite(o.TargetLoss)) throw new SettingException("TargetLoss", "must be a number");
        if (o.Schedule is not ("cosine" or "constant")) throw new SettingException("Schedule", $"must be cosine or constant, not '{o.Schedule}'");
        SettingException.Check("DataA", () => InputFile.Require(o.DataA, null));
        SettingException.Check("DataB", () => InputFile.Require(o.DataB, null));
        SettingException.Check("OutDir", () => OutputPath.RequireFolder(o.OutDir, null));
        RunFolder.CheckStart(o.OutDir, o.Resume, HyperCheckpoint.IsHyperCheckpoint(o.OutDir), "hypernetwork");
        try { o.Network.Validate(); }
        catch (ArgumentException e) { throw new SettingException("Network", $"{e.Message}"); }
    }

    private static (HyperNetwork, Gpt2Target, HyperState?) Fresh(HyperTrainOptions o, Gpt2Config config, IBackend backend)
    {
        var target = new Gpt2Target(Gpt2Target.CreateModel(config, backend));
        var hyper = new HyperNetwork(target, o.Network);
        hyper.Initialize(o.Seed);
        return (hyper, target, null);
    }

    private static (HyperNetwork, Gpt2Target, HyperState?) LoadForResume(HyperTrainOptions o, IBackend backend, Dictionary<string, string> settings)
    {
        var (hyper, target, state) = HyperCheckpoint.Load(o.OutDir, backend, withOptimizer: true);
        try
        {
            string path = Path.Combine(o.OutDir, HyperCheckpoint.StateFile);
            if (state.SamplerPositions is not { Length: 2 }) throw new InvalidDataException($"{path}: no data position saved (nothing to resume)");
            ResumeSettings.Check(settings, state.Train, path);
            return (hyper, target, state);
        }
        catch
        {
            hyper.Dispose();
            target.Model.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> Settings(HyperTrainOptions o, int T) => OptimizerFlags.AddTo(new()
    {
        ["data_a"] = Path.GetFullPath(o.DataA),
        ["data_b"] = Path.GetFullPath(o.DataB),
        ["model"] = o.Model,
        ["target_loss"] = o.TargetLoss.ToString(CultureInfo.InvariantCulture),
        ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["encoding"] = o.Network.Encoding.ToString(),
        ["residual"] = o.Network.Residual ? "on" : "off",
        ["init"] = o.Network.Init.ToString(),
        ["per_tensor_init"] = o.Network.PerTensorInit ? "on" : "off",
        ["hidden"] = string.Join(",", o.Network.Hidden),
    }, o.Steps, o.Batch, T, o.Lr, o.Warmup, o.Schedule, o.WeightDecay, o.GradClip);
}
