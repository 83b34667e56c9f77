using LoadBalancer.Core.Health;

namespace LoadBalancer.Core.Routing;

// Health model. Three independent sources can take a backend out of rotation, each owning one bit of _unavailable:
//   Down     - active health checks (HealthMonitor): `fall` failed checks in a row; back after `rise` good ones.
//   Ejected  - passive outlier detection: consecutive connect failures / 5xx / resets; ends by itself at _ejectedUntil.
//   Drained  - the admin API; only the admin API clears it.
// (Forced is the plain IsAvailable setter, kept for tests and tools.) IsAvailable is "no bit set": one volatile int
// read per pick in the normal case. An expired ejection is cleared lazily by the first reader that notices, so no
// timer is needed and a pick reads the clock only while the backend is ejected. Writers use Interlocked on the bits;
// the active-check streak is written by the backend's single checker only.
//
// Slow start: a backend coming back (rise reached, ejection over, drain ended) ramps from MinRamp to full weight
// over the pool's slow_start. Balancers ask AcceptsPick(draw) with a uniformly spread 32-bit draw and skip the
// backend when draw falls above the ramp, so its share grows linearly; the clock is read only while ramping.

/// <summary>The health half of <see cref="BackendState"/>: active, passive and admin state, and the slow-start ramp.</summary>
public sealed partial class BackendState
{
    private const int DownBit = 1;
    private const int EjectedBit = 2;
    private const int DrainedBit = 4;
    private const int ForcedBit = 8;

    /// <summary>Full weight on the 0..1024 ramp scale (a shift instead of a division in AcceptsPick).</summary>
    internal const int FullRamp = 1024;

    /// <summary>Where a slow start begins: 10% of the weight (Envoy's default min_weight_percent).</summary>
    internal const int MinRamp = FullRamp / 10;

    /// <summary>An ejection never lasts longer than this (or base_ejection when that is longer).</summary>
    internal static readonly TimeSpan MaxEjection = TimeSpan.FromMinutes(5);

    private int _unavailable;
    private long _ejectedUntil;
    private long _rampStart;
    private long _slowStartTicks;
    private int _consecutiveFailures;
    private int _ejections;
    private long _lastEjectionEnd;
    private int _checkStreak;

    /// <summary>The clock of ejections and ramps; tests swap in a manual one.</summary>
    internal TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>
    /// False while the backend is down (active checks), ejected (passive), drained (admin) or forced off: balancers
    /// must not pick it. Setting it forces the backend off or back on, independently of the health sources.
    /// </summary>
    public bool IsAvailable
    {
        get
        {
            var flags = Volatile.Read(ref _unavailable);
            return flags == 0 || (flags == EjectedBit && TryEndEjection());
        }
        set => SetBit(ForcedBit, !value);
    }

    /// <summary>Marked down by active health checks (and not yet back up after <c>rise</c> good checks).</summary>
    public bool IsDown => (Volatile.Read(ref _unavailable) & DownBit) != 0;

    /// <summary>Ejected by passive outlier detection and the ejection has not run out yet.</summary>
    public bool IsEjected => (Volatile.Read(ref _unavailable) & EjectedBit) != 0 && Clock.GetTimestamp() < Volatile.Read(ref _ejectedUntil);

    /// <summary>Drained through the admin API: finishes in-flight requests, gets no new ones.</summary>
    public bool IsDrained => (Volatile.Read(ref _unavailable) & DrainedBit) != 0;

    /// <summary>Connect failures, resets and 5xx answers in a row (reset by any good answer).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>Ejections so far, decayed by one per <c>base_ejection</c> spent healthy; multiplies the next ejection.</summary>
    public int Ejections => Volatile.Read(ref _ejections);

    /// <summary>Time left of the current ejection, or zero.</summary>
    public TimeSpan EjectionRemaining
    {
        get
        {
            if ((Volatile.Read(ref _unavailable) & EjectedBit) == 0)
            {
                return TimeSpan.Zero;
            }

            var left = Volatile.Read(ref _ejectedUntil) - Clock.GetTimestamp();
            return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / Clock.TimestampFrequency);
        }
    }

    /// <summary>Share of the configured weight a slow start currently grants: 1 when not ramping.</summary>
    public double Ramp => RampLevel() / (double)FullRamp;

    /// <summary>Weight times <see cref="Ramp"/>: what the backend takes relative to its peers right now.</summary>
    public double EffectiveWeight => Weight * Ramp;

    /// <summary>One word for status pages: drained, down, ejected, ramping or up (first that applies).</summary>
    public string HealthStatus => IsDrained ? "drained"
        : IsDown ? "down"
        : IsEjected ? "ejected"
        : !IsAvailable ? "unavailable"
        : Volatile.Read(ref _rampStart) != 0 && RampLevel() < FullRamp ? "ramping"
        : "up";

    /// <summary>The pool's slow_start; zero turns the ramp off (a running ramp then ends at once).</summary>
    internal TimeSpan SlowStart
    {
        get => TimeSpan.FromSeconds((double)Volatile.Read(ref _slowStartTicks) / Clock.TimestampFrequency);
        set => Volatile.Write(ref _slowStartTicks, (long)(value.TotalSeconds * Clock.TimestampFrequency));
    }

    /// <summary>
    /// Slow start for balancers: true when a pick with this draw (uniform over 32 bits) may go to the backend.
    /// Always true unless the backend is ramping; then true for a share of draws equal to <see cref="Ramp"/>.
    /// </summary>
    internal bool AcceptsPick(uint draw)
    {
        var start = Volatile.Read(ref _rampStart);
        return start == 0 || (draw >> 22) < (uint)RampLevel(start);
    }

    /// <summary>Spreads a counter or hash over 32 bits for <see cref="AcceptsPick"/> (Fibonacci hashing).</summary>
    internal static uint Draw(ulong value) => (uint)((value * 0x9E3779B97F4A7C15UL) >> 32);

    // ---- active checks ----

    /// <summary>
    /// Feeds one active check result (HAProxy semantics): an up backend goes down after <paramref name="fall"/>
    /// failures in a row, a down one comes up after <paramref name="rise"/> successes in a row, then ramps.
    /// Called by the backend's own checker only.
    /// </summary>
    internal HealthTransition RecordCheck(bool healthy, int rise, int fall)
    {
        var down = IsDown;
        if (healthy != down)
        {
            _checkStreak = 0;
            return HealthTransition.None;
        }

        if (++_checkStreak < (down ? rise : fall))
        {
            return HealthTransition.None;
        }

        _checkStreak = 0;
        if (down)
        {
            ClearBit(DownBit);
            StartRamp(Clock.GetTimestamp());
            return HealthTransition.Up;
        }

        SetBit(DownBit);
        IdleConnections.CloseIdle(0);
        return HealthTransition.Down;
    }

    /// <summary>Active checks stopped for this backend (health removed from its pool): it counts as up again.</summary>
    internal void ResetActiveCheck()
    {
        _checkStreak = 0;
        ClearBit(DownBit);
    }

    // ---- passive checks / outlier ejection ----

    /// <summary>A good answer (below 500): the failure streak starts over.</summary>
    internal void RecordSuccess()
    {
        // Read first: the common case writes nothing, so busy backends do not bounce this cache line between cores.
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }
    }

    /// <summary>
    /// A connect failure, reset, timeout or 5xx. Ejects the backend when the streak reaches
    /// <see cref="OutlierSettings.ConsecutiveFailures"/> and fewer than max_ejected_share of <paramref name="pool"/>
    /// are ejected. Returns true when this call ejected it.
    /// </summary>
    internal bool RecordFailure(OutlierSettings settings, BackendState[] pool)
    {
        if (settings.ConsecutiveFailures <= 0)
        {
            return false;
        }

        // Failures of requests that were already under way when the backend was ejected do not count towards the
        // next ejection: after an ejection the streak starts from zero.
        if (IsEjected || Interlocked.Increment(ref _consecutiveFailures) < settings.ConsecutiveFailures)
        {
            return false;
        }

        // The cap is checked without a lock, so two simultaneous ejections may overshoot it by one; acceptable.
        var allowed = (int)(settings.MaxEjectedShare * pool.Length);
        var ejected = 0;
        foreach (var other in pool)
        {
            if (other != this && other.IsEjected)
            {
                ejected++;
            }
        }

        if (ejected >= allowed)
        {
            return false;
        }

        Eject(settings.BaseEjection);
        return true;
    }

    /// <summary>Ejects for base * (ejections so far, decayed), capped; the ramp starts when the ejection ends.</summary>
    internal void Eject(TimeSpan baseEjection)
    {
        var clock = Clock;
        var now = clock.GetTimestamp();
        var baseTicks = Math.Max(1, (long)(baseEjection.TotalSeconds * clock.TimestampFrequency));

        // Envoy-style decay: one step of the multiplier per base_ejection spent un-ejected since the last one ended.
        var previous = Volatile.Read(ref _ejections);
        var lastEnd = Volatile.Read(ref _lastEjectionEnd);
        if (previous > 0 && lastEnd != 0 && now > lastEnd)
        {
            previous = (int)Math.Max(0, previous - ((now - lastEnd) / baseTicks));
        }

        var count = Math.Min(previous + 1, 1000);
        Volatile.Write(ref _ejections, count);
        var maxTicks = Math.Max(baseTicks, (long)(MaxEjection.TotalSeconds * clock.TimestampFrequency));
        var until = now + Math.Min(baseTicks * count, maxTicks);
        Volatile.Write(ref _lastEjectionEnd, until);
        Volatile.Write(ref _ejectedUntil, until);
        Volatile.Write(ref _consecutiveFailures, 0);
        SetBit(EjectedBit);
        StartRamp(until);
        IdleConnections.CloseIdle(0);
    }

    private bool TryEndEjection()
    {
        if (Clock.GetTimestamp() < Volatile.Read(ref _ejectedUntil))
        {
            return false;
        }

        ClearBit(EjectedBit);
        return true;
    }

    // ---- admin ----

    /// <summary>Takes the backend out of rotation until <see cref="Enable"/>; in-flight requests finish normally.</summary>
    public void Drain()
    {
        SetBit(DrainedBit);

        // Idle pooled connections carry nothing in flight; closing them now lets the backend see the drain.
        IdleConnections.CloseIdle(0);
    }

    /// <summary>Ends a drain; the backend ramps up again under slow start.</summary>
    public void Enable()
    {
        if ((Volatile.Read(ref _unavailable) & DrainedBit) != 0)
        {
            ClearBit(DrainedBit);
            StartRamp(Clock.GetTimestamp());
        }
    }

    // ---- slow start ----

    /// <summary>Starts (or moves later) a ramp beginning at timestamp <paramref name="at"/>; no-op without slow_start.</summary>
    internal void StartRamp(long at)
    {
        if (Volatile.Read(ref _slowStartTicks) <= 0)
        {
            return;
        }

        var seen = Volatile.Read(ref _rampStart);
        while (seen < at)
        {
            var witnessed = Interlocked.CompareExchange(ref _rampStart, at, seen);
            if (witnessed == seen)
            {
                return;
            }

            seen = witnessed;
        }
    }

    private int RampLevel()
    {
        var start = Volatile.Read(ref _rampStart);
        return start == 0 ? FullRamp : RampLevel(start);
    }

    private int RampLevel(long start)
    {
        var length = Volatile.Read(ref _slowStartTicks);
        var elapsed = Clock.GetTimestamp() - start;
        if (length <= 0 || elapsed >= length)
        {
            // The ramp is over: clear it (unless a new one started meanwhile) so picks stop reading the clock.
            Interlocked.CompareExchange(ref _rampStart, 0, start);
            return FullRamp;
        }

        return elapsed <= 0 ? MinRamp : MinRamp + (int)((FullRamp - MinRamp) * elapsed / length);
    }

    private void SetBit(int bit)
    {
        var seen = Volatile.Read(ref _unavailable);
        while ((seen & bit) == 0)
        {
            var witnessed = Interlocked.CompareExchange(ref _unavailable, seen | bit, seen);
            if (witnessed == seen)
            {
                return;
            }

            seen = witnessed;
        }
    }

    private void SetBit(int bit, bool on)
    {
        if (on)
        {
            SetBit(bit);
        }
        else
        {
            ClearBit(bit);
        }
    }

    private void ClearBit(int bit)
    {
        var seen = Volatile.Read(ref _unavailable);
        while ((seen & bit) != 0)
        {
            var witnessed = Interlocked.CompareExchange(ref _unavailable, seen & ~bit, seen);
            if (witnessed == seen)
            {
                return;
            }

            seen = witnessed;
        }
    }
}
