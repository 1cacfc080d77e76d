using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Hyper.Kernels.Reference;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.Hypernetworks;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;
using Hyper.Runtime.Training;

namespace Hyper.Cli.Commands;

/// <summary>`hyper hypernet train|eval|export`: a hypernetwork that generates a GPT-2 for each γ in [0, 1].</summary>
public static class HypernetCommand
{
    /// <summary>Builds the command and its subcommands.</summary>
    public static Command Create() => new("hypernet",
        "A hypernetwork conditioned on gamma in [0, 1] that generates every weight of a GPT-2, trained on gamma * loss(A) + (1 - gamma) * loss(B): " +
        "one trained network, a dial between two corpora. Magnitude Invariant Parametrization (Ortiz et al., ICLR 2024) and its ablations are switches.")
    {
        Train(), Eval(), Export(), Compare(),
    };

    private static Command Train()
    {
        var d = new HyperTrainOptions { DataA = "", DataB = "", OutDir = "" };
        var dataA = new Option<string>("--data-a") { Description = "Corpus A (weight gamma): a text file or llm.c token shard.", Required = true };
        var dataB = new Option<string>("--data-b") { Description = "Corpus B (weight 1 - gamma).", Required = true };
        var outDir = new Option<string>("--out") { Description = "Output folder: hypernet.safetensors, hypernet.json, log.jsonl, loss.png.", Required = true };
        var model = new Option<string>("--model") { Description = "Target GPT-2: a preset (tiny, small, gpt2) or a config.json.", DefaultValueFactory = _ => d.Model };
        var mip = new Option<string>("--mip") { Description = "on: cos|sin encoding and residual theta0 + h (MIP); off: raw gamma in, theta = h(gamma) out. --encoding and --residual override.", DefaultValueFactory = _ => "on" };
        var encoding = new Option<string?>("--encoding") { Description = "Input encoding: cos-sin, z-1mz (gamma, 1 - gamma) or raw." };
        var residual = new Option<string?>("--residual") { Description = "on|off: theta = theta0 + h(E(gamma)), theta0 the target's own initialisation, learned." };
        var init = new Option<string>("--init") { Description = "kaiming-fan-out (zero biases) or default (PyTorch's nn.Linear uniform).", DefaultValueFactory = _ => "kaiming-fan-out" };
        var perTensor = new Option<string>("--per-tensor-init") { Description = "on|off: scale each generated tensor's starting spread to the target's own.", DefaultValueFactory = _ => "on" };
        var hidden = new Option<string>("--hidden") { Description = "Hidden widths, comma-separated.", DefaultValueFactory = _ => string.Join(",", d.Network.Hidden) };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "Samples per step, each with its own gamma ~ U[0, 1] (and one window of each corpus).", DefaultValueFactory = _ => d.Batch };
        var seq = new Option<int>("--seq") { Description = "Tokens per window (T); default: the model's n_positions." };
        var lr = new Option<float>("--lr") { Description = "Learning rate (AdamW).", DefaultValueFactory = _ => d.Lr };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps.", DefaultValueFactory = _ => d.Warmup };
        var schedule = new Option<string>("--schedule") { Description = "constant or cosine (decays to 10% of --lr).", DefaultValueFactory = _ => d.Schedule };
        var weightDecay = new Option<float>("--weight-decay") { Description = "AdamW decoupled weight decay on the hypernetwork's weights.", DefaultValueFactory = _ => d.WeightDecay };
        var gradClip = new Option<float>("--grad-clip") { Description = "Clip the global gradient norm to this (0 = off).", DefaultValueFactory = _ => d.GradClip };
        var evalEvery = new Option<int>("--eval-every") { Description = "Held-out loss (mean over gamma = 0, 0.5, 1) every N steps, and at the end.", DefaultValueFactory = _ => d.EvalEvery };
        var evalWindows = new Option<int>("--eval-windows") { Description = "Held-out windows per corpus per evaluation.", DefaultValueFactory = _ => d.EvalWindows };
        var targetLoss = new Option<double>("--target-loss") { Description = "steps_to_target is the first evaluated step with held-out loss at or below this.", DefaultValueFactory = _ => d.TargetLoss };
        var seed = new Option<ulong>("--seed") { Description = "Seed for the weights, the data order and the gamma draws.", DefaultValueFactory = _ => d.Seed };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => d.Device };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out exactly where it stopped (same flags)." };
        var onNonFinite = NonFiniteOption.Create();
        var json = new Option<bool>("--json") { Description = "End with one JSON object: steps_to_target, final_loss, eval_by_gamma, log, plot, settings, ..." };
        var cmd = new Command("train", "Train a hypernetwork on the two-corpus mixture; live progress, log.jsonl, loss.png, and the checkpoint with " +
            "the optimizer state at the end (Ctrl-C saves; --resume continues bit-exactly).")
        {
            dataA, dataB, outDir, model, mip, encoding, residual, init, perTensor, hidden, steps, batch, seq, lr, warmup, schedule, weightDecay, gradClip,
            evalEvery, evalWindows, targetLoss, seed, device, resume, onNonFinite, json,
        };
        cmd.SetAction(r =>
        {
            bool mipOn = OnOff(r.GetValue(mip)!, "--mip");
            var network = (mipOn ? HyperNetworkOptions.Mip : HyperNetworkOptions.Plain) with
            {
                Hidden = ParseHidden(r.GetValue(hidden)!),
                Init = r.GetValue(init) switch
                {
                    "kaiming-fan-out" => HyperInit.KaimingFanOut,
                    "default" => HyperInit.Default,
                    var s => throw new CliException($"--init must be kaiming-fan-out or default, not '{s}'"),
                },
                PerTensorInit = OnOff(r.GetValue(perTensor)!, "--per-tensor-init"),
            };
            if (r.GetValue(encoding) is { } e) network = network with { Encoding = ParseEncoding(e) };
            if (r.GetValue(residual) is { } res) network = network with { Residual = OnOff(res, "--residual") };
            var o = new HyperTrainOptions
            {
                DataA = r.GetValue(dataA)!, DataB = r.GetValue(dataB)!, OutDir = r.GetValue(outDir)!, Model = r.GetValue(model)!, Network = network,
                Steps = r.GetValue(steps), Batch = r.GetValue(batch), Seq = r.GetValue(seq), Lr = r.GetValue(lr), Warmup = r.GetValue(warmup),
                Schedule = r.GetValue(schedule)!, WeightDecay = r.GetValue(weightDecay), GradClip = r.GetValue(gradClip), EvalEvery = r.GetValue(evalEvery),
                EvalWindows = r.GetValue(evalWindows), TargetLoss = r.GetValue(targetLoss), Seed = r.GetValue(seed), Device = r.GetValue(device)!,
                Resume = r.GetValue(resume), OnNonFinite = NonFiniteOption.Read(r, onNonFinite),
            };
            using var stop = new StopSignal();
            var line = new ProgressLine();
            HyperTrainResult result;
            try
            {
                result = HyperTrainer.Run(o,
                    p => line.Update($"step {p.Step}/{p.TotalSteps}  loss {p.Loss:F4}  lr {p.Lr:E2}  {p.StepMs:F0} ms/step  ETA {ProgressLine.Format(p.Eta)}" +
                        (p.ValLoss is double v ? $"  held-out {v:F4}" : ""), keep: p.ValLoss is not null),
                    msg => line.Note(msg), stop.Token);
            }
            finally { line.Done(); } // an error then starts on a line of its own
            if (result.NothingToDo) return NothingToDo.Report(result.Steps, o.Steps, result.OutDir, r.GetValue(json));
            Console.Error.WriteLine($"{(result.Interrupted ? "interrupted" : "done")}: {result.Steps} steps, held-out {result.FinalLoss:F4}, " +
                $"steps to {result.TargetLoss} {(result.StepsToTarget?.ToString(CultureInfo.InvariantCulture) ?? "never")}; saved to {result.OutDir}");
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    steps_to_target = result.StepsToTarget,
                    target_loss = result.TargetLoss,
                    final_loss = result.FinalLoss,
                    final_train_loss = result.FinalTrainLoss,
                    eval_by_gamma = HyperTrainer.EvalGammas.Zip(result.EvalByGamma).ToDictionary(z => z.First.ToString(CultureInfo.InvariantCulture), z => z.Second),
                    steps = result.Steps,
                    seconds = Math.Round(result.Seconds, 2),
                    hypernet_params = result.HyperParameters,
                    target_params = result.TargetParameters,
                    interrupted = result.Interrupted,
                    @out = result.OutDir,
                    log = result.LogPath,
                    plot = result.PlotPath,
                    settings = result.Settings,
                }));
            }
            return result.Interrupted ? 130 : 0;
        });
        return cmd;
    }

    private static Command Eval()
    {
        var hypernet = new Option<string>("--hypernet") { Description = "Hypernetwork folder (from hyper hypernet train).", Required = true };
        var gamma = new Option<float>("--gamma") { Description = "Generate the model at this gamma in [0, 1].", Required = true };
        var data = new Option<string>("--data") { Description = "Text file or llm.c token shard to evaluate on.", Required = true };
        var seq = new Option<int>("--seq") { Description = "Window length T (default: the model's n_positions)." };
        var maxWindows = new Option<int>("--max-windows") { Description = "Evaluate only the first N windows (0 = all)." };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass.", DefaultValueFactory = _ => 8 };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: loss, perplexity, tokens, gamma." };
        var cmd = new Command("eval", "Loss of the model the hypernetwork generates at --gamma, counted exactly as `hyper eval` counts it.")
        {
            hypernet, gamma, data, seq, maxWindows, batch, device, json,
        };
        cmd.SetAction(r =>
        {
            using var backend = BackendRegistry.Create(r.GetValue(device)!);
            var (m, state) = ModelFolders.LoadAt(r.GetValue(hypernet)!, r.GetValue(gamma), backend);
            using var _ = m;
            string dataPath = r.GetValue(data)!;
            InputFile.Require(dataPath, "--data");
            var tokens = TokenCorpus.Load(dataPath, Tokenizers.Create(state.Tokenizer));
            int T = r.GetValue(seq) == 0 ? m.Config.Context : r.GetValue(seq);
            if (T < 1 || T > m.Config.Context) throw new CliException($"--seq {T} is outside 1..{m.Config.Context} (the model's n_positions)");
            if (tokens.Length < T + 1) throw new CliException($"{dataPath}: {tokens.Length} tokens are fewer than one window of {T + 1} (--seq {T})");
            if (r.GetValue(batch) < 1) throw new CliException("--batch must be at least 1");
            int max = r.GetValue(maxWindows) <= 0 ? int.MaxValue : r.GetValue(maxWindows);
            var result = Evaluator.Evaluate(m, tokens, T, max, r.GetValue(batch));
            if (r.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new { loss = result.Loss, perplexity = result.Perplexity, tokens = result.Tokens, windows = result.Windows, gamma = r.GetValue(gamma) }));
            else
                Console.WriteLine($"gamma {r.GetValue(gamma)}: loss {result.Loss:F5} nats/token, perplexity {result.Perplexity:F3} over {result.Tokens:N0} tokens ({result.Windows} windows of {T})");
            return 0;
        });
        return cmd;
    }

    private static Command Export()
    {
        var hypernet = new Option<string>("--hypernet") { Description = "Hypernetwork folder (from hyper hypernet train).", Required = true };
        var gamma = new Option<float>("--gamma") { Description = "Generate the model at this gamma in [0, 1].", Required = true };
        var outDir = new Option<string>("--out") { Description = "Checkpoint folder to write (config.json, model.safetensors, hyper.json); must not hold one already.", Required = true };
        var cmd = new Command("export", "Write the model the hypernetwork generates at --gamma as an ordinary checkpoint, for hyper eval / generate / convert.")
        {
            hypernet, gamma, outDir,
        };
        cmd.SetAction(r =>
        {
            string dir = r.GetValue(outDir)!;
            OutputPath.RequireFolder(dir, "--out");
            if (Checkpoint.IsCheckpoint(dir)) throw new CliException($"--out {dir} already holds a checkpoint; choose another folder");
            using var backend = BackendRegistry.Create("cpu");
            var (m, state) = ModelFolders.LoadAt(r.GetValue(hypernet)!, r.GetValue(gamma), backend);
            using var _ = m;
            Checkpoint.Save(dir, m, state, withOptimizer: false);
            Console.Error.WriteLine($"wrote {Path.GetFullPath(dir)} (gamma {r.GetValue(gamma)})");
            return 0;
        });
        return cmd;
    }

    private static Command Compare()
    {
        var runs = new Argument<string[]>("runs") { Description = "Folders of finished hyper hypernet train runs.", Arity = ArgumentArity.OneOrMore };
        var targetLoss = new Option<double>("--target-loss") { Description = "Held-out loss for the steps-to-target column.", DefaultValueFactory = _ => new HyperTrainOptions { DataA = "", DataB = "", OutDir = "" }.TargetLoss };
        var plot = new Option<string?>("--plot") { Description = "Write the held-out curves (one panel per learning rate) to this PNG." };
        var cmd = new Command("compare", "Table of steps to --target-loss and final held-out loss per parametrization and learning rate (mean ± sd over seeds), from run folders.")
        {
            runs, targetLoss, plot,
        };
        cmd.SetAction(r =>
        {
            if (r.GetValue(plot) is { } plotPath) OutputPath.RequireFile(plotPath, "--plot");
            var list = new List<HyperComparison.Run>();
            foreach (string dir in r.GetValue(runs)!)
            {
                if (!HyperCheckpoint.IsHyperCheckpoint(dir)) throw new CliException($"{dir}: not a hypernetwork run folder (no {HyperCheckpoint.StateFile})");
                list.Add(HyperComparison.Load(dir));
            }
            double target = r.GetValue(targetLoss);
            Console.Write(HyperComparison.Table(list, target));
            if (r.GetValue(plot) is { } png)
            {
                HyperComparison.Plot(png, list, target);
                Console.Error.WriteLine($"wrote {png}");
            }
            return 0;
        });
        return cmd;
    }

    private static bool OnOff(string value, string flag) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new CliException($"{flag} must be on or off, not '{value}'"),
    };

    private static HyperEncodingKind ParseEncoding(string value) => value switch
    {
        "cos-sin" => HyperEncodingKind.CosSin,
        "z-1mz" => HyperEncodingKind.Complement,
        "raw" => HyperEncodingKind.Raw,
        _ => throw new CliException($"--encoding must be cos-sin, z-1mz or raw, not '{value}'"),
    };

    private static int[] ParseHidden(string value)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] < 1)
                throw new CliException($"--hidden '{value}': expected positive widths separated by commas, e.g. 32,32");
        return widths;
    }
}
