namespace LoadBalancer.Core.Config;

/// <summary>The resilience keys of a <c>[[pools]]</c> entry: health, retries, outlier, slow_start.</summary>
internal sealed partial class LbPoolSection
{
    /// <summary>Where <c>health = { ... }</c> starts; null when the pool has no active check.</summary>
    public SourcePosition? HealthPosition { get; set; }

    public ConfigValue<string>? HealthType { get; set; }

    public ConfigValue<string>? HealthPath { get; set; }

    public ConfigValue<string>? HealthExpect { get; set; }

    public ConfigValue<string>? HealthInterval { get; set; }

    public ConfigValue<string>? HealthTimeout { get; set; }

    public ConfigValue<long>? HealthRise { get; set; }

    public ConfigValue<long>? HealthFall { get; set; }

    public ConfigValue<string>? HealthAllDown { get; set; }

    public ConfigValue<long>? RetryAttempts { get; set; }

    public ConfigValue<double>? RetryBudget { get; set; }

    public ConfigValue<long>? OutlierConsecutiveFailures { get; set; }

    public ConfigValue<string>? OutlierBaseEjection { get; set; }

    public ConfigValue<double>? OutlierMaxEjectedShare { get; set; }

    public ConfigValue<string>? SlowStart { get; set; }
}
