using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace LoadBalancer.Core.Balancing;

/// <summary>The balancer factories known by name; adding a policy means adding its factory to <see cref="Default"/>.</summary>
public sealed class BalancerRegistry
{
    private readonly FrozenDictionary<string, IBalancerFactory> _factories;

    public BalancerRegistry(IEnumerable<IBalancerFactory> factories)
    {
        _factories = factories.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);
    }

    public static BalancerRegistry Default { get; } = new(DefaultFactories.All);

    public IEnumerable<string> Names => _factories.Keys;

    public bool TryGet(string name, [NotNullWhen(true)] out IBalancerFactory? factory) => _factories.TryGetValue(name, out factory);
}
