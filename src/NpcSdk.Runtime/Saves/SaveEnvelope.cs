using System;
using System.IO;
using System.Security.Cryptography;

namespace NpcSdk.Saves
{
    /// <summary>
    /// The frame around every NpcSdk save: an 8-byte magic naming the kind of save, a format version, the payload,
    /// and a SHA-256 of all of it; plus atomic file writes (temporary file, flush to disk, rename over the old save).
    /// </summary>
    public static class SaveEnvelope
    {
        private const int HeaderBytes = 12;
        private const int HashBytes = 32;

        /// <summary>Frames a payload.</summary>
        public static byte[] Wrap(string magic, uint version, ReadOnlySpan<byte> payload)
        {
            byte[] m = MagicBytes(magic);
            var bytes = new byte[HeaderBytes + payload.Length + HashBytes];
            m.CopyTo(bytes, 0);
            BitConverter.GetBytes(version).CopyTo(bytes, 8);
            payload.CopyTo(bytes.AsSpan(HeaderBytes));
            using (var sha = SHA256.Create())
                sha.ComputeHash(bytes, 0, HeaderBytes + payload.Length).CopyTo(bytes, HeaderBytes + payload.Length);
            return bytes;
        }

        /// <summary>Checks the frame and returns the payload.</summary>
        /// <exception cref="SaveCorruptException">Wrong magic, truncated, checksum mismatch or unsupported version.</exception>
        public static ReadOnlyMemory<byte> Unwrap(byte[] bytes, string magic, uint supportedVersion, string what)
        {
            byte[] m = MagicBytes(magic);
            if (bytes.Length < 8) throw new SaveCorruptException(SaveProblem.Truncated, $"{what} is only {bytes.Length} bytes");
            if (!bytes.AsSpan(0, 8).SequenceEqual(m)) throw new SaveCorruptException(SaveProblem.NotASave, $"not a {what} (bad magic)");
            if (bytes.Length < HeaderBytes + HashBytes) throw new SaveCorruptException(SaveProblem.Truncated, $"{what} is truncated ({bytes.Length} bytes)");
            using (var sha = SHA256.Create())
            {
                byte[] hash = sha.ComputeHash(bytes, 0, bytes.Length - HashBytes);
                if (!hash.AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - HashBytes)))
                    throw new SaveCorruptException(SaveProblem.ChecksumMismatch, $"{what} checksum does not match ({bytes.Length} bytes): the file is damaged or truncated");
            }
            uint version = BitConverter.ToUInt32(bytes, 8);
            if (version != supportedVersion)
                throw new SaveCorruptException(SaveProblem.UnsupportedVersion, $"{what} format version {version} is not supported (this build reads version {supportedVersion})");
            return new ReadOnlyMemory<byte>(bytes, HeaderBytes, bytes.Length - HeaderBytes - HashBytes);
        }

        /// <summary>Writes a file so that a crash at any moment leaves either the old or the new content, never a mix.</summary>
        public static void WriteFileAtomic(string path, byte[] bytes)
        {
            string tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes, 0, bytes.Length);
                fs.Flush(true);
            }
            if (File.Exists(path)) File.Replace(tmp, path, null);
            else File.Move(tmp, path);
        }

        private static byte[] MagicBytes(string magic)
        {
            if (magic.Length != 8) throw new ArgumentException("magic must be 8 ASCII characters", nameof(magic));
            var b = new byte[8];
            for (int i = 0; i < 8; i++) b[i] = (byte)magic[i];
            return b;
        }
    }
}
