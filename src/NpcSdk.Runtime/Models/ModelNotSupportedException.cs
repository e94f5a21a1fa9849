using System;

namespace NpcSdk.Models
{
    /// <summary>The model file is valid GGUF but describes an architecture or feature this runtime does not run.</summary>
    public sealed class ModelNotSupportedException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ModelNotSupportedException(string message) : base(message) { }
    }
}
