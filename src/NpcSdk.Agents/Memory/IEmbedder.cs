namespace NpcSdk.Agents.Memory
{
    /// <summary>Turns text into a unit-length vector; cosine similarity is then a dot product.</summary>
    public interface IEmbedder
    {
        /// <summary>Vector length.</summary>
        int Dimensions { get; }

        /// <summary>The L2-normalised embedding of <paramref name="text"/>.</summary>
        float[] Embed(string text);
    }
}
