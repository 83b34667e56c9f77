namespace LoadBalancer.Core.Balancing;

/// <summary>The built-in balancer factories.</summary>
internal static class DefaultFactories
{
    // TEMPORARY placeholder until the real policies land: every name maps to a first-available pick.
    public static IBalancerFactory[] All =>
    [
        new FirstAvailableFactory(BalancerNames.RoundRobin, BalancerNeeds.None),
        new FirstAvailableFactory(BalancerNames.LeastConnections, BalancerNeeds.None),
        new FirstAvailableFactory(BalancerNames.WeightedHash, BalancerNeeds.HashKey),
    ];

    private sealed class FirstAvailableFactory(string name, BalancerNeeds needs) : IBalancerFactory, IBalancer
    {
        private Routing.BackendState[] _backends = [];

        public string Name => name;

        public BalancerNeeds Needs => needs;

        public IBalancer Create(IReadOnlyList<Routing.BackendState> backends) => new FirstAvailableFactory(name, needs) { _backends = [.. backends] };

        public Routing.BackendState? Pick(in PickContext context)
        {
            foreach (var b in _backends)
            {
                if (b.IsAvailable && b != context.Avoid)
                {
                    return b;
                }
            }

            return null;
        }
    }
}
