using System;

namespace NpcSdk.Agents.Remote
{
    /// <summary>An OpenAI-compatible server refused a request or answered with something that is not a reply. Names the URL.</summary>
    public sealed class RemoteModelException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public RemoteModelException(string url, int? statusCode, string message, Exception? inner = null)
            : base($"{url}: {(statusCode.HasValue ? $"HTTP {statusCode.Value}: " : "")}{message}", inner)
        {
            Url = url;
            StatusCode = statusCode;
        }

        /// <summary>The request URL.</summary>
        public string Url { get; }

        /// <summary>The HTTP status, when the server answered.</summary>
        public int? StatusCode { get; }
    }
}
