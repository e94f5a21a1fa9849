using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using NpcSdk.Embeddings;

namespace NpcSdk.Server
{
    /// <summary><c>POST /v1/embeddings</c>: unit-length sentence embeddings of one text or a list of texts.</summary>
    internal sealed class EmbeddingsEndpoint
    {
        private const int MaxInputs = 2048;
        private readonly EmbeddingModel _model;
        private readonly string _modelId;
        private readonly NpcServerOptions _options;

        public EmbeddingsEndpoint(EmbeddingModel model, string modelId, NpcServerOptions options)
        {
            _model = model;
            _modelId = modelId;
            _options = options;
        }

        public async Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
        {
            List<string> texts;
            bool base64;
            using (var body = await RequestBody.ReadJsonAsync(context, _options.MaxRequestBodyBytes))
            {
                var root = JsonFields.RequireObject(body.RootElement, "body");
                JsonFields.OptionalString(root, "model", "model");
                texts = ReadInput(root);
                string format = JsonFields.OptionalString(root, "encoding_format", "encoding_format") ?? "float";
                if (format != "float" && format != "base64")
                    throw OpenAiRequestException.BadRequest($"'encoding_format' is '{format}'; it must be float or base64", "encoding_format", "invalid_value");
                base64 = format == "base64";
                long? dimensions = JsonFields.OptionalInteger(root, "dimensions", "dimensions", 1, int.MaxValue);
                if (dimensions.HasValue && dimensions.Value != _model.Dimensions)
                    throw OpenAiRequestException.BadRequest($"{_modelId} makes {_model.Dimensions}-dimensional embeddings; 'dimensions' {dimensions} is not available", "dimensions", "invalid_value");
            }

            long tokens = 0;
            for (int i = 0; i < texts.Count; i++)
            {
                int n = _model.Tokenize(texts[i]).Length;
                if (n > _model.ContextLength)
                    throw OpenAiRequestException.BadRequest($"input {i} has {n} tokens; {_modelId} reads at most {_model.ContextLength}", texts.Count == 1 ? "input" : $"input[{i}]", "context_length_exceeded");
                tokens += n;
            }
            // The model computes one call at a time on its own threads: keep request threads free meanwhile.
            float[][] vectors = await Task.Run(() => _model.Embed(texts), cancellationToken);

            await JsonResponse.WriteAsync(context, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
                for (int i = 0; i < vectors.Length; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("object", "embedding");
                    w.WriteNumber("index", i);
                    if (base64)
                    {
                        // OpenAI's base64 form: the little-endian float32 bytes.
                        w.WriteBase64String("embedding", MemoryMarshal.AsBytes(vectors[i].AsSpan()));
                    }
                    else
                    {
                        w.WriteStartArray("embedding");
                        foreach (float x in vectors[i]) w.WriteNumberValue(x);
                        w.WriteEndArray();
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("model", _modelId);
                w.WriteStartObject("usage");
                w.WriteNumber("prompt_tokens", tokens);
                w.WriteNumber("total_tokens", tokens);
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }

        private static List<string> ReadInput(JsonElement root)
        {
            if (!JsonFields.TryGet(root, "input", out var input))
                throw OpenAiRequestException.BadRequest("'input' is required", "input", "missing_required_parameter");
            var texts = new List<string>();
            if (input.ValueKind == JsonValueKind.String)
            {
                texts.Add(input.GetString()!);
                return texts;
            }
            if (input.ValueKind != JsonValueKind.Array) throw JsonFields.WrongType("input", "a string or an array of strings", input);
            int i = 0;
            foreach (var item in input.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Number || item.ValueKind == JsonValueKind.Array)
                    throw OpenAiRequestException.BadRequest("token-id inputs are not supported; send text", $"input[{i}]", "unsupported_value");
                if (item.ValueKind != JsonValueKind.String) throw JsonFields.WrongType($"input[{i}]", "a string", item);
                texts.Add(item.GetString()!);
                i++;
            }
            if (texts.Count == 0) throw OpenAiRequestException.BadRequest("'input' must have at least one text", "input", "invalid_value");
            if (texts.Count > MaxInputs) throw OpenAiRequestException.BadRequest($"'input' has {texts.Count} texts; at most {MaxInputs} per request", "input", "invalid_value");
            return texts;
        }
    }
}
