using System.Diagnostics;

namespace Hyper.Tests.Support;

/// <summary>
/// Runs the built `hyper` as a real child process (the hyper.dll copied beside the tests), for
/// the tests that must kill it: an in-process run cannot be killed with SIGKILL.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Starts <c>hyper args...</c> with stdout and stderr drained in the background.</summary>
    public static Process Start(string[] args, IReadOnlyDictionary<string, string>? env = null)
    {
        var p = Process.Start(Info(args, env)) ?? throw new InvalidOperationException("could not start hyper");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs <c>hyper args...</c> to the end and returns its exit code and stderr.</summary>
    public static (int Code, string Err) Run(string[] args, IReadOnlyDictionary<string, string>? env = null, int timeoutMs = 120_000)
    {
        using var p = Process.Start(Info(args, env)) ?? throw new InvalidOperationException("could not start hyper");
        var err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"hyper {string.Join(' ', args)} did not finish in {timeoutMs / 1000} s");
        }
        return (p.ExitCode, err.Result);
    }

    private static ProcessStartInfo Info(string[] args, IReadOnlyDictionary<string, string>? env)
    {
        // The SDK's test runner names the dotnet host it runs on; elsewhere it is on PATH.
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "hyper.dll"));
        foreach (string a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return info;
    }
}
