"""What the emulated Azure OpenAI resource offers: api-versions, deployments, limits and Azure's own messages."""

from __future__ import annotations

import re

API_VERSIONS = (
    "2022-12-01",
    "2023-05-15",
    "2023-06-01-preview",
    "2023-12-01-preview",
    "2024-02-01",
    "2024-02-15-preview",
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2024-06-01",
    "2024-07-01-preview",
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-10-21",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-03-01-preview",
    "2025-04-01-preview",
)

# deployment -> (operation kind, model name in responses, embedding dimensions)
DEPLOYMENTS: dict[str, tuple[str, str, int]] = {
    "gpt-4o": ("chat", "gpt-4o-2024-08-06", 0),
    "gpt-4o-mini": ("chat", "gpt-4o-mini-2024-07-18", 0),
    "tts-hd": ("speech", "tts-hd", 0),
    "tts": ("speech", "tts", 0),
    "whisper": ("transcription", "whisper", 0),
    "gpt-4o-transcribe": ("transcription", "gpt-4o-transcribe", 0),
    "gpt-4o-mini-transcribe": ("transcription", "gpt-4o-mini-transcribe", 0),
    "gpt-4o-mini-tts": ("speech", "gpt-4o-mini-tts", 0),
    "text-embedding-3-large": ("embeddings", "text-embedding-3-large", 3072),
    "text-embedding-3-small": ("embeddings", "text-embedding-3-small", 1536),
    "text-embedding-ada-002": ("embeddings", "ada", 1536),
    "dall-e-3": ("images", "dall-e-3", 0),
    "gpt-35-turbo-instruct": ("completions", "gpt-35-turbo-instruct", 0),
    # Today's chat lineup: reasoning models (app/emulator/reasoning.py says what each rejects) and gpt-4.1.
    "gpt-5-mini": ("chat", "gpt-5-mini-2025-08-07", 0),
    "gpt-5.1": ("chat", "gpt-5.1-2025-11-13", 0),
    "o4-mini": ("chat", "o4-mini-2025-04-16", 0),
    "o1": ("chat", "o1-2024-12-17", 0),
    "model-router": ("chat", "model-router-2025-08-07", 0),
    "gpt-4.1": ("chat", "gpt-4.1-2025-04-14", 0),
    # The Realtime API's WebSocket only (app/emulator/realtime.py)
    "gpt-realtime": ("realtime", "gpt-realtime-2025-08-28", 0),
    "gpt-realtime-mini": ("realtime", "gpt-realtime-mini-2025-10-06", 0),
}

# models that take what whisper and tts do not: streamed json/text transcripts; `instructions` and more voices
TRANSCRIBE_MODELS = ("gpt-4o-transcribe", "gpt-4o-mini-transcribe")
INSTRUCT_TTS_MODELS = ("gpt-4o-mini-tts",)

MAX_UPLOAD = 25 * 1024 * 1024
MAX_SPEECH_CHARS = 4096
DEFAULT_TOKEN_RATE = 200.0
SPEECH_CHUNK = 4800  # bytes: 0.1 s of 24 kHz s16le mono
DALLE_SIZES = ("1024x1024", "1792x1024", "1024x1792")
# The gpt-image family (Microsoft Learn: image generation how-to; Azure does not take webp).
DEPLOYMENTS.update(
    {
        "gpt-image-1": ("images", "gpt-image-1", 0),
        "gpt-image-1-mini": ("images", "gpt-image-1-mini", 0),
    }
)
GPT_IMAGE_SIZES = ("1024x1024", "1024x1536", "1536x1024", "auto")
GPT_IMAGE_QUALITIES = ("low", "medium", "high", "auto")
GPT_IMAGE_BACKGROUNDS = ("transparent", "opaque", "auto")
GPT_IMAGE_FORMATS = ("png", "jpeg")

# route suffix -> (operation kind, Azure's operation word for OperationNotSupported, rate-limit operation name)
OPERATIONS = {
    "chat/completions": ("chat", "chatCompletion", "ChatCompletions_Create"),
    "completions": ("completions", "completion", "Completions_Create"),
    "embeddings": ("embeddings", "embeddings", "Embeddings_Create"),
    "audio/speech": ("speech", "audioSpeech", "AudioSpeech_Create"),
    "audio/transcriptions": ("transcription", "audioTranscription", "AudioTranscriptions_Create"),
    "audio/translations": ("transcription", "audioTranslation", "AudioTranslations_Create"),
    "images/generations": ("images", "imageGeneration", "ImageGenerations_Create"),
    "images/edits": ("images", "imageEdit", "ImageEdits_Create"),
}
# The v1 API: /openai/v1/<operation>, the deployment in the body's `model` (or the multipart form's `model` field)
V1_PREFIX = "/openai/v1"
DEPLOYMENT_RE = re.compile(
    r"^/openai/deployments/([^/]+)/(chat/completions|completions|embeddings|audio/speech|"
    r"audio/transcriptions|audio/translations|images/generations|images/edits)/?$"
)

MSG_MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key when "
    "making requests to an API."
)
MSG_INVALID_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your resource."
)
MSG_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within the "
    "last 5 minutes, please wait a moment and try again."
)
MSG_PROMPT_FILTER = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management "
    "policy. Please modify your prompt and retry. To learn more about our content filtering "
    "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
MSG_IMAGE_FILTER = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that "
    "is not allowed by our safety system."
)
MSG_500 = "The server had an error while processing your request. Sorry about that!"
