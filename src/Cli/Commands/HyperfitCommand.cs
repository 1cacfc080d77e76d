using System.CommandLine;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Hyperfitting;

namespace Hyper.Cli.Commands;

/// <summary>`hyper hyperfit`: fine-tune a pretrained model to near-zero loss on a few sequences (the hyperfitting recipe).</summary>
public static class HyperfitCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var d = new HyperfitOptions { ModelDir = "", DataPath = "", OutDir = "" };
        var model = new Option<string>("--model") { Description = "Pretrained checkpoint folder to start from (it is not modified).", Required = true };
        var data = new Option<string>("--data") { Description = "Text (or token shard) the sequences are drawn from; its last --val-fraction is held out. Text is tokenized as one stream, no special tokens added, with the model folder's tokenizer.json when it has one.", Required = true };
        var outDir = new Option<string>("--out")
        {
            Description = "Output folder (must not hold a checkpoint): the hyperfitted checkpoint, log.jsonl (one line per epoch), hyperfit.png, " +
                "hyperfit-data.txt (the sequences, for eval-gen --train-data and block-citations) and heldout.txt (for --from and --val-data).",
            Required = true,
        };
        var samples = new Option<int>("--samples") { Description = "Sequences drawn at random (seeded, non-overlapping) from the training part.", DefaultValueFactory = _ => d.Samples };
        var seq = new Option<int>("--seq") { Description = "Tokens per sequence.", DefaultValueFactory = _ => d.Seq };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the sequences (shuffled each epoch).", DefaultValueFactory = _ => d.Epochs };
        var batch = new Option<int>("--batch") { Description = "Sequences per step, over all ranks: with --distributed each of N ranks takes its share (the batch must divide by N).", DefaultValueFactory = _ => d.Batch };
        var lr = new Option<float>("--lr")
        {
            Description = "Constant learning rate of Adam (no warm-up, no decay). The paper's 1e-6 is for models of 1-70 B parameters; " +
                "a small model needs far more (1e-3 for the bundled models/moby-byte, see docs/hyperfitting.md).",
            DefaultValueFactory = _ => d.Lr,
        };
        var weightDecay = new Option<float>("--weight-decay") { Description = "Decoupled weight decay on matrices (the paper: none).", DefaultValueFactory = _ => d.WeightDecay };
        var gradClip = new Option<float>("--grad-clip") { Description = "Clip the global gradient norm to this (0 = off, the paper's recipe).", DefaultValueFactory = _ => d.GradClip };
        var trainLayers = new Option<string>("--train-layers")
        {
            Description = "all, or last:N = only the last N transformer blocks, the final norm and an untied output head train; the input embeddings " +
                "(and a head tied to them) stay frozen, and the backward pass stops at the first trained block.",
            DefaultValueFactory = _ => "all",
        };
        var valFraction = new Option<double>("--val-fraction")
        {
            Description = "Held-out tail of --data, by position (never drawn; held-out loss and prompts). Pretrain with the same value so the model has not seen it either.",
            DefaultValueFactory = _ => d.ValFraction,
        };
        var evalWindows = new Option<int>("--eval-windows") { Description = "Held-out windows of --seq tokens measured after each epoch.", DefaultValueFactory = _ => d.EvalWindows };
        var prompts = new Option<int>("--prompts") { Description = "Held-out prompts greedily continued after each epoch for the TTR (0 = skip).", DefaultValueFactory = _ => d.Prompts };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Tokens per held-out prompt.", DefaultValueFactory = _ => d.PromptTokens };
        var newTokens = new Option<int>("--new-tokens") { Description = "Greedy tokens per prompt; the TTR is over them. When --prompt-tokens + --new-tokens exceed the model's context, both are scaled down in proportion to fit it (the log says so).", DefaultValueFactory = _ => d.NewTokens };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sequence choice and the order within epochs.", DefaultValueFactory = _ => d.Seed };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => d.Device };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out exactly where it stopped (same settings; --epochs may grow)." };
        var onNonFinite = NonFiniteOption.Create();
        var json = new Option<bool>("--json") { Description = "End with one JSON object: final_train_loss, epochs (the per-epoch list), steps, tokens_per_s, seconds, out, ..." };
        var cmd = new Command("hyperfit",
            "Hyperfit a pretrained model (Carlsson et al., ICLR 2025): train it further on a few sequences until the training loss is near zero. " +
            "Defaults are the paper's recipe: 2000 random sequences of 256 tokens, 20 epochs, batch 8, Adam at a constant 1e-6, no weight decay, " +
            "no warm-up, all parameters. After every epoch: train loss, held-out loss, mean entropy and top-1 probability of the predictions on " +
            "held-out text, greedy TTR on held-out prompts. A checkpoint (with Adam's state) is written at the end of an epoch at most once a minute and at the end; " +
            "Ctrl-C saves and exits, and --resume continues bit-exactly.")
        {
            model, data, outDir, samples, seq, epochs, batch, lr, weightDecay, gradClip, trainLayers, valFraction, evalWindows, prompts, promptTokens,
            newTokens, seed, device, resume, onNonFinite, json,
        };
        var distributed = new DistributedOptions();
        distributed.AddTo(cmd);
        cmd.SetAction(r => distributed.Run(r, r.GetValue(device)!, ranks =>
        {
            var o = new HyperfitOptions
            {
                ModelDir = r.GetValue(model)!,
                DataPath = r.GetValue(data)!,
                OutDir = r.GetValue(outDir)!,
                Samples = r.GetValue(samples),
                Seq = r.GetValue(seq),
                Epochs = r.GetValue(epochs),
                Batch = r.GetValue(batch),
                Lr = r.GetValue(lr),
                WeightDecay = r.GetValue(weightDecay),
                GradClip = r.GetValue(gradClip),
                TrainLastBlocks = Hyperfitter.ParseTrainLayers(r.GetValue(trainLayers)!),
                ValFraction = r.GetValue(valFraction),
                EvalWindows = r.GetValue(evalWindows),
                Prompts = r.GetValue(prompts),
                PromptTokens = r.GetValue(promptTokens),
                NewTokens = r.GetValue(newTokens),
                Seed = r.GetValue(seed),
                Device = r.GetValue(device)!,
                Resume = r.GetValue(resume),
                OnNonFinite = NonFiniteOption.Read(r, onNonFinite),
                Collectives = ranks, GradientBucketBytes = distributed.BucketBytes(r),
            };
            var result = HyperfitRun.WithProgress(o);
            if (!DistributedOptions.Speaks) return result.Interrupted ? 130 : 0;
            if (r.GetValue(json)) Console.WriteLine(result.NothingToDo ? NothingToDo.Json(result.Steps, result.OutDir) : Summary(result));
            return result.Interrupted ? 130 : 0;
        }));
        return cmd;
    }

    private static string Summary(HyperfitResult result) => JsonSerializer.Serialize(new
    {
        final_train_loss = result.FinalTrainLoss,
        final_heldout_loss = result.Epochs[^1].HeldOutLoss,
        epochs = result.Epochs.Select(e => new
        {
            epoch = e.Epoch,
            train_loss = e.TrainLoss,
            heldout_loss = e.HeldOutLoss,
            entropy = e.Entropy,
            top1 = e.Top1,
            ttr = e.Ttr,
            seconds = Math.Round(e.Seconds, 2),
        }),
        steps = result.Steps,
        tokens_per_s = Math.Round(result.TokensPerS, 1),
        seconds = Math.Round(result.Seconds, 2),
        interrupted = result.Interrupted,
        @out = result.OutDir,
        plot = result.PlotPath,
        sequences = result.SequencesPath,
        heldout = result.HeldOutPath,
        ttr_probe = result.TtrProbe is { } t ? new { prompt_tokens = t.PromptTokens, new_tokens = t.NewTokens } : null,
    });
}
