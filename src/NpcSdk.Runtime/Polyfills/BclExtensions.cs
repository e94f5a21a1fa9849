#if NETSTANDARD2_0
using System;
using System.Buffers;
using System.IO;
using System.Runtime.CompilerServices;

namespace NpcSdk
{
    /// <summary>
    /// The netstandard2.1 members that netstandard2.0 lacks and the runtime calls, as C# 14 extension members on the
    /// BCL types, so that call sites read the same on every target.
    /// </summary>
    internal static class BclExtensions
    {
        extension(BitConverter)
        {
            /// <summary>The float whose IEEE 754 bits are <paramref name="value"/>.</summary>
            public static unsafe float Int32BitsToSingle(int value) => *(float*)&value;

            /// <summary>The IEEE 754 bits of <paramref name="value"/>.</summary>
            public static unsafe int SingleToInt32Bits(float value) => *(int*)&value;
        }

        extension(RuntimeHelpers)
        {
            /// <summary>False when the stack is too deep to recurse further.</summary>
            public static bool TryEnsureSufficientExecutionStack()
            {
                try
                {
                    RuntimeHelpers.EnsureSufficientExecutionStack();
                    return true;
                }
                catch (InsufficientExecutionStackException)
                {
                    return false;
                }
            }
        }

        extension(Stream stream)
        {
            /// <summary>Writes <paramref name="buffer"/> through a pooled array.</summary>
            public void Write(ReadOnlySpan<byte> buffer)
            {
                byte[] array = ArrayPool<byte>.Shared.Rent(buffer.Length);
                try
                {
                    buffer.CopyTo(array);
                    stream.Write(array, 0, buffer.Length);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(array);
                }
            }
        }
    }
}
#endif
