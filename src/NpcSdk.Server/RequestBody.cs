using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace NpcSdk.Server
{
    /// <summary>Reads a request body as JSON, within the size limit.</summary>
    internal static class RequestBody
    {
        /// <exception cref="OpenAiRequestException">The body is too large, empty, or not JSON.</exception>
        public static async Task<JsonDocument> ReadJsonAsync(HttpContext context, long limit)
        {
            var request = context.Request;
            if (request.ContentLength > limit) throw TooLarge(limit);
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[16 * 1024];
            try
            {
                int n;
                while ((n = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                {
                    if (buffer.Length + n > limit) throw TooLarge(limit);
                    buffer.Write(chunk, 0, n);
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw TooLarge(limit);
            }
            if (buffer.Length == 0) throw OpenAiRequestException.BadRequest("the request body is empty; a JSON object is expected", code: "invalid_json");
            try
            {
                return JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            }
            catch (JsonException e)
            {
                throw OpenAiRequestException.BadRequest($"the request body is not valid JSON: {e.Message}", code: "invalid_json");
            }
        }

        private static OpenAiRequestException TooLarge(long limit) =>
            OpenAiRequestException.BadRequest($"the request body is larger than the server's limit of {limit} bytes", code: "request_too_large");
    }
}
