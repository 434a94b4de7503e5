"""Parley: a desktop assistant for Azure OpenAI (chat, voice, images)."""

__version__ = "0.1.0"
