using System;
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace NpcSdk.Server
{
    /// <summary>Writes JSON bodies, OpenAI-style error bodies and server-sent events.</summary>
    internal static class JsonResponse
    {
        // Relaxed escaping: NPC text keeps its quotes and apostrophes readable; the content type is JSON, never HTML.
        private static readonly JsonWriterOptions WriterOptions = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        private static readonly byte[] DataPrefix = Encoding.ASCII.GetBytes("data: ");
        private static readonly byte[] EventEnd = Encoding.ASCII.GetBytes("\n\n");

        public static byte[] Build(Action<Utf8JsonWriter> write)
        {
            var buffer = new ArrayBufferWriter<byte>(1024);
            using (var w = new Utf8JsonWriter(buffer, WriterOptions)) write(w);
            return buffer.WrittenSpan.ToArray();
        }

        public static async Task WriteAsync(HttpContext context, int statusCode, Action<Utf8JsonWriter> write)
        {
            byte[] body = Build(write);
            context.Response.StatusCode = statusCode;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, CancellationToken.None);
        }

        public static void WriteError(Utf8JsonWriter w, string message, string type, string? param, string? code)
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            if (param != null) w.WriteString("param", param);
            else w.WriteNull("param");
            if (code != null) w.WriteString("code", code);
            else w.WriteNull("code");
            w.WriteEndObject();
            w.WriteEndObject();
        }

        public static Task WriteErrorAsync(HttpContext context, OpenAiRequestException e)
        {
            // The rest of an oversized body is not read: the connection cannot carry another request after it.
            if (e.Code == "request_too_large") context.Response.Headers.Connection = "close";
            return WriteAsync(context, e.StatusCode, w => WriteError(w, e.Message, e.Type, e.Param, e.Code));
        }

        /// <summary>One server-sent event: <c>data: {json}</c> and a blank line, flushed.</summary>
        public static async Task WriteEventAsync(HttpContext context, Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
        {
            await WriteEventAsync(context, Build(write), cancellationToken);
        }

        public static async Task WriteEventAsync(HttpContext context, byte[] data, CancellationToken cancellationToken)
        {
            var body = context.Response.Body;
            await body.WriteAsync(DataPrefix, cancellationToken);
            await body.WriteAsync(data, cancellationToken);
            await body.WriteAsync(EventEnd, cancellationToken);
            await body.FlushAsync(cancellationToken);
        }
    }
}
