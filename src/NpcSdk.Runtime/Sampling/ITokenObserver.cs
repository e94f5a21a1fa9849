namespace NpcSdk.Sampling
{
    /// <summary>
    /// A sampler that needs to see the token chosen at each step (a grammar constraint advances its parse with it).
    /// <see cref="SamplerChain"/> calls <see cref="Accept"/> on every sampler of its chain that implements this,
    /// right after each draw.
    /// </summary>
    public interface ITokenObserver
    {
        /// <summary>Called with the token just sampled.</summary>
        void Accept(int token);
    }
}
