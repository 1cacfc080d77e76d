using System.Diagnostics;

namespace Hyper.Runtime;

/// <summary>How much memory this process holds.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// The peak resident set so far in bytes (VmHWM of /proc/self/status on Linux, the peak working
    /// set elsewhere); null where the system reports none.
    /// </summary>
    public static long? PeakResidentBytes()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        long peak = self.PeakWorkingSet64;
        return peak > 0 ? peak : null;
    }
}
