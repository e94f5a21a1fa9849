using System.Collections.Generic;

namespace NpcSdk.Sampling
{
    /// <summary>One step of a sampling chain: narrows or reweights the candidates (llama.cpp's sampler objects).</summary>
    public interface ISampler
    {
        /// <summary>
        /// Applies the sampler. <paramref name="history"/> is every token so far (prompt and generated). The candidates
        /// object is reused for later steps: do not keep it.
        /// </summary>
        void Apply(TokenCandidates candidates, IReadOnlyList<int> history);
    }
}
