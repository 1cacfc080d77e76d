namespace Hyper.Cli;

/// <summary>A user error (bad flag value, unreadable file): printed as one line, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);
