using System;

namespace NpcSdk.Server
{
    /// <summary>
    /// A request the server refuses, answered with an OpenAI-style error body:
    /// <c>{"error": {"message", "type", "param", "code"}}</c>. The message names the offending field.
    /// </summary>
    public sealed class OpenAiRequestException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="statusCode">HTTP status (400 for a bad request).</param>
        /// <param name="message">What is wrong, for the caller to read.</param>
        /// <param name="param">The request field at fault, e.g. <c>messages[2].role</c>.</param>
        /// <param name="code">A machine-readable code, e.g. <c>invalid_type</c>.</param>
        /// <param name="type">The error type; <c>invalid_request_error</c> for the caller's mistakes.</param>
        public OpenAiRequestException(int statusCode, string message, string? param = null, string? code = null, string type = "invalid_request_error")
            : base(message)
        {
            StatusCode = statusCode;
            Param = param;
            Code = code;
            Type = type;
        }

        /// <summary>A 400 Bad Request.</summary>
        public static OpenAiRequestException BadRequest(string message, string? param = null, string? code = null) => new OpenAiRequestException(400, message, param, code);

        /// <summary>HTTP status.</summary>
        public int StatusCode { get; }

        /// <summary>The field at fault.</summary>
        public string? Param { get; }

        /// <summary>Machine-readable code.</summary>
        public string? Code { get; }

        /// <summary>Error type.</summary>
        public string Type { get; }
    }
}
