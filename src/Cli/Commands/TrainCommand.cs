using System.CommandLine;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;
using Hyper.Runtime.Training;

namespace Hyper.Cli.Commands;

/// <summary>`hyper train`: train or fine-tune a causal language model (GPT-2 or the Llama family) on a corpus.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var d = new TrainOptions { DataPath = "", OutDir = "" };
        var data = new Option<string>("--data") { Description = "Training corpus: a UTF-8 text file or an llm.c token shard (.bin). Text is tokenized as one stream, no special tokens added, with the model folder's tokenizer.json when it has one (see --tokenizer); cached.", Required = true };
        var valData = new Option<string?>("--val-data") { Description = "Held-out corpus. Without it, the last --val-fraction of --data is held out." };
        var valFraction = new Option<double>("--val-fraction") { Description = "Fraction of --data held out when no --val-data is given.", DefaultValueFactory = _ => d.ValFraction };
        var outDir = new Option<string>("--out") { Description = "Output folder: checkpoint (config.json, model.safetensors, hyper.json, optimizer.safetensors), log.jsonl, loss.png.", Required = true };
        var model = new Option<string>("--model") { Description = $"Start from a preset ({string.Join(", ", Architectures.PresetNames)}; random weights), a config.json, or a checkpoint folder (fine-tuning).", DefaultValueFactory = _ => d.Model };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "byte or gpt2. Default: the --model (or resumed) folder's tokenizer.json, which checkpoints carry along; else what the model implies: byte for vocab 256, gpt2 for 50257." };
        var steps = new Option<int>("--steps") { Description = "Total optimizer steps (a resumed run continues up to this).", DefaultValueFactory = _ => d.Steps };
        var batch = new Option<int>("--batch") { Description = "Sequences per step (B), over all ranks: with --distributed each of N ranks takes B/N of them (B must divide by N).", DefaultValueFactory = _ => d.Batch };
        var seq = new Option<int>("--seq") { Description = "Tokens per sequence (T); default: the model's n_positions." };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => d.Lr };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps.", DefaultValueFactory = _ => d.Warmup };
        var schedule = new Option<string>("--schedule") { Description = "cosine (decays to 10% of --lr at the last step) or constant.", DefaultValueFactory = _ => d.Schedule };
        var weightDecay = new Option<float>("--weight-decay") { Description = "AdamW decoupled weight decay (matrices only).", DefaultValueFactory = _ => d.WeightDecay };
        var gradClip = new Option<float>("--grad-clip") { Description = "Clip the global gradient norm to this (0 = off).", DefaultValueFactory = _ => d.GradClip };
        var evalEvery = new Option<int>("--eval-every") { Description = "Held-out loss every N steps (and at the end).", DefaultValueFactory = _ => d.EvalEvery };
        var evalWindows = new Option<int>("--eval-windows") { Description = "Windows of T+1 held-out tokens per evaluation.", DefaultValueFactory = _ => d.EvalWindows };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (always at the end and on Ctrl-C).", DefaultValueFactory = _ => d.SaveEvery };
        var seed = new Option<ulong>("--seed") { Description = "Seed for the initial weights and the data order.", DefaultValueFactory = _ => d.Seed };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out exactly where it stopped." };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => d.Device };
        var onNonFinite = NonFiniteOption.Create();
        var json = new Option<bool>("--json") { Description = "End with one JSON object summarising the run (final_loss, steps, tokens_per_s, out, ...)." };
        var cmd = new Command("train",
            "Train a causal LM (GPT-2, Llama, Mistral, Qwen2, Qwen3) on a corpus with AdamW: live progress (step, loss, lr, tokens/s, ETA), a JSONL log of every step, held-out loss every " +
            "--eval-every steps, a PNG of the loss curves at the end. Checkpoint writes are atomic; Ctrl-C saves and exits; --resume continues exactly.")
        {
            data, valData, valFraction, outDir, model, tokenizer, steps, batch, seq, lr, warmup, schedule, weightDecay, gradClip,
            evalEvery, evalWindows, saveEvery, seed, resume, device, onNonFinite, json,
        };
        var attention = new HyperAttentionOptions();
        attention.AddTo(cmd);
        var distributed = new DistributedOptions();
        distributed.AddTo(cmd);
        cmd.SetAction(r => distributed.Run(r, r.GetValue(device)!, ranks =>
        {
            var o = new TrainOptions
            {
                DataPath = r.GetValue(data)!, ValDataPath = r.GetValue(valData), ValFraction = r.GetValue(valFraction), OutDir = r.GetValue(outDir)!,
                Model = r.GetValue(model)!, Tokenizer = r.GetValue(tokenizer), Steps = r.GetValue(steps), Batch = r.GetValue(batch), Seq = r.GetValue(seq),
                Lr = r.GetValue(lr), Warmup = r.GetValue(warmup), Schedule = r.GetValue(schedule)!, WeightDecay = r.GetValue(weightDecay),
                GradClip = r.GetValue(gradClip), EvalEvery = r.GetValue(evalEvery), EvalWindows = r.GetValue(evalWindows), SaveEvery = r.GetValue(saveEvery),
                Seed = r.GetValue(seed), Resume = r.GetValue(resume), Device = r.GetValue(device)!, OnNonFinite = NonFiniteOption.Read(r, onNonFinite),
                Attention = attention.Read(r, r.GetValue(seed)), Collectives = ranks, GradientBucketBytes = distributed.BucketBytes(r),
            };
            using var stop = new StopSignal(ranks, o.OutDir);
            var line = new ProgressLine();
            TrainResult result;
            try
            {
                result = Trainer.Run(o,
                    p => line.Update(
                        $"step {p.Step}/{p.TotalSteps}  loss {p.Loss:F4}  lr {p.Lr:E2}  {p.TokensPerS:N0} tok/s  ETA {ProgressLine.Format(p.Eta)}" +
                        (p.ValLoss is double v ? $"  held-out {v:F4}" : ""),
                        keep: p.ValLoss is not null || p.Step == p.TotalSteps),
                    msg => line.Note(msg), stop.Token);
            }
            finally { line.Done(); } // an error then starts on a line of its own
            if (!DistributedOptions.Speaks) return result.Interrupted ? 130 : 0;
            if (result.NothingToDo) return NothingToDo.Report(result.Steps, o.Steps, result.OutDir, r.GetValue(json));
            if (result.Interrupted) Console.Error.WriteLine($"interrupted at step {result.Steps}: saved to {result.OutDir}; continue with --resume");
            else Console.Error.WriteLine($"done: {result.Steps} steps, final loss {result.FinalLoss:F4}" +
                (result.FinalValLoss is double fv ? $", held-out {fv:F4}" : "") + $"; saved to {result.OutDir}" + (result.PlotPath is null ? "" : $", plot {result.PlotPath}"));
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    final_loss = result.FinalLoss,
                    final_val_loss = result.FinalValLoss,
                    steps = result.Steps,
                    tokens_per_s = Math.Round(result.TokensPerS, 1),
                    seconds = Math.Round(result.Seconds, 2),
                    n_params = result.Parameters,
                    interrupted = result.Interrupted,
                    @out = result.OutDir,
                    plot = result.PlotPath,
                }));
            }
            return result.Interrupted ? 130 : 0;
        }));
        return cmd;
    }
}
