using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NpcSdk.Extensions.AI
{
    /// <summary>Pieces of text handed from the generating thread to an async reader, in order.</summary>
    internal sealed class TextPieceQueue
    {
        private readonly ConcurrentQueue<string> _pieces = new ConcurrentQueue<string>();
        // One release per piece, and one more (with no piece behind it) when the writer is done.
        private readonly SemaphoreSlim _available = new SemaphoreSlim(0);

        public void Add(string piece)
        {
            _pieces.Enqueue(piece);
            _available.Release();
        }

        public void Complete() => _available.Release();

        public async IAsyncEnumerable<string> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            while (true)
            {
                await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (!_pieces.TryDequeue(out var piece)) yield break;
                yield return piece;
            }
        }
    }
}
