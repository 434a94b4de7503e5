"""An Azure-OpenAI-faithful HTTP emulator on 127.0.0.1 (stdlib + numpy, no Qt). See docs/emulator.md.

from app.emulator import Emulator
with Emulator(token_rate=0) as emu:
    client = AzureOpenAI(azure_endpoint=emu.endpoint, api_key="any", api_version="2024-10-01-preview")
"""

from app.emulator.catalog import API_VERSIONS, DEPLOYMENTS
from app.emulator.content import DEMO_HEADERS, DEMO_WORDS
from app.emulator.server import Emulator, serve_forever
from app.emulator.wire import RecordedRequest

__all__ = [
    "API_VERSIONS",
    "DEMO_HEADERS",
    "DEMO_WORDS",
    "DEPLOYMENTS",
    "Emulator",
    "RecordedRequest",
    "serve_forever",
]
