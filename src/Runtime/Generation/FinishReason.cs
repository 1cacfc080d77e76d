namespace Hyper.Runtime.Generation;

/// <summary>Why the generation of a prompt ended.</summary>
public enum FinishReason
{
    /// <summary>It reached the new-token budget.</summary>
    Length,

    /// <summary>Its text came to contain a stop string.</summary>
    Stop,

    /// <summary>The model emitted the end-of-text token.</summary>
    EndOfText,

    /// <summary>The bans (no-repeat n-gram, citation blocker) left no token to choose.</summary>
    Blocked,
}
