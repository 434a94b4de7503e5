"""Each deployment's family: guessed from a model name, but what was learned or set in the profile wins."""

from __future__ import annotations

import pytest

from app.core.capabilities import Family, family_for_model
from app.core.profiles import Profile, ProfileStore


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("gpt-4o", Family.CHAT),
        ("gpt-4.1", Family.CHAT),
        ("gpt-5-chat", Family.CHAT),
        ("gpt-35-turbo", Family.CHAT),
        ("o1", Family.REASONING),
        ("o4-mini", Family.REASONING),
        ("gpt-5-mini", Family.REASONING),
        ("gpt-5.1", Family.REASONING),
        ("model-router", Family.REASONING),
        ("dall-e-3", Family.DALLE),
        ("gpt-image-1-mini", Family.GPT_IMAGE),
        ("tts-hd", Family.TTS),
        ("gpt-4o-mini-tts", Family.TTS_INSTRUCT),
        ("whisper", Family.WHISPER),
        ("gpt-4o-mini-transcribe", Family.TRANSCRIBE),
        ("text-embedding-3-large", Family.EMBEDDINGS),
        ("gpt-35-turbo-instruct", Family.COMPLETIONS),
        ("gpt-realtime-mini", Family.REALTIME),
        ("prod-chat", None),
    ],
)
def test_family_from_a_model_name(name, family):
    assert family_for_model(name) == family


def test_a_learned_family_wins_over_the_name_and_is_saved(parley_home):
    profile = Profile(name="Work", endpoint="https://res.openai.azure.com/", families={"gpt-4o": "reasoning"})
    assert profile.family("gpt-4o") == Family.REASONING
    assert profile.family("prod-chat") is None and profile.family("o3") == Family.REASONING
    ProfileStore(profiles=[profile]).save()
    assert ProfileStore.load().get("Work").family("gpt-4o") == Family.REASONING
    assert hash(profile)  # profiles stay hashable
