using System.Diagnostics;

namespace Hyper.Tests.Support;

/// <summary>
/// Runs the built `hyper` as a real child process (the hyper.dll copied beside the tests), for
/// the tests that must kill it: an in-process run cannot be killed with SIGKILL.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Starts <c>hyper args...</c> with stdout and stderr drained in the background.</summary>
    public static Process Start(string[] args, IReadOnlyDictionary<string, string>? env = null, string[]? launcher = null, bool captureErr = false)
    {
        var p = Process.Start(Info(args, env, launcher)) ?? throw new InvalidOperationException("could not start hyper");
        p.OutputDataReceived += (_, _) => { };
        if (captureErr)
        {
            var err = new System.Text.StringBuilder();
            Captured.Add(p, err);
            p.ErrorDataReceived += (_, e) => { lock (err) err.AppendLine(e.Data); };
        }
        else p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Process, System.Text.StringBuilder> Captured = new();

    /// <summary>The stderr a process started with captureErr has written so far (all of it once it has exited).</summary>
    public static string Err(Process p)
    {
        p.WaitForExit(); // after exit, this waits for the redirected stream to drain
        var err = Captured.TryGetValue(p, out var b) ? b : throw new InvalidOperationException("started without captureErr");
        lock (err) return err.ToString();
    }

    /// <summary>
    /// Runs <c>hyper args...</c> to the end and returns its exit code and stderr; with a
    /// <paramref name="launcher"/> (<c>mpirun -np 2</c>) the launcher runs the hyper processes.
    /// </summary>
    public static (int Code, string Err) Run(string[] args, IReadOnlyDictionary<string, string>? env = null, int timeoutMs = 120_000, string[]? launcher = null)
    {
        using var p = Process.Start(Info(args, env, launcher)) ?? throw new InvalidOperationException("could not start hyper");
        var err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"hyper {string.Join(' ', args)} did not finish in {timeoutMs / 1000} s");
        }
        return (p.ExitCode, err.Result);
    }

    private static ProcessStartInfo Info(string[] args, IReadOnlyDictionary<string, string>? env, string[]? launcher)
    {
        // The SDK's test runner names the dotnet host it runs on; elsewhere it is on PATH.
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var info = new ProcessStartInfo(launcher?[0] ?? host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (launcher is not null)
        {
            foreach (string a in launcher[1..]) info.ArgumentList.Add(a);
            info.ArgumentList.Add(host);
        }
        info.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "hyper.dll"));
        foreach (string a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return info;
    }
}
