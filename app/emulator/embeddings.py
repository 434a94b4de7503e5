"""Deterministic embeddings where similar texts are close: signed feature hashing (blake2b) of word stems,
character 3-grams and a small concept table, unit-normalised. numpy is imported lazily."""

from __future__ import annotations

import hashlib
import re

# Words with no letters in common that should still land near each other.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "vehicle": ("car", "automobile", "vehicle", "truck", "auto"),
    "doctor": ("doctor", "physician", "medic", "surgeon"),
    "buy": ("buy", "purchase", "acquire", "shop"),
    "happy": ("happy", "glad", "joyful", "cheerful", "delighted"),
    "sad": ("sad", "unhappy", "sorrowful", "gloomy"),
    "big": ("big", "large", "huge", "enormous", "giant"),
    "small": ("small", "little", "tiny", "minute"),
    "film": ("film", "movie", "cinema", "picture"),
    "child": ("kid", "child", "children", "youngster", "toddler"),
    "begin": ("begin", "start", "commence", "initiate"),
    "end": ("end", "finish", "stop", "conclude"),
    "fast": ("fast", "quick", "rapid", "speedy"),
    "house": ("house", "home", "dwelling", "residence"),
    "money": ("money", "cash", "revenue", "income", "funds"),
    "cat": ("cat", "kitten", "feline"),
    "dog": ("dog", "puppy", "canine", "hound"),
}
_CONCEPT_OF = {w: c for c, words in CONCEPTS.items() for w in words}
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return word


def _features(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for word in re.findall(r"\w+", text.lower()):
        s = stem(word)
        concept = _CONCEPT_OF.get(word) or _CONCEPT_OF.get(s)
        out["w:" + s] = out.get("w:" + s, 0.0) + 1.0
        if concept:
            out["c:" + concept] = out.get("c:" + concept, 0.0) + 1.5
        padded = f"#{word}#"
        grams = [padded[i : i + 3] for i in range(len(padded) - 2)]
        for g in grams:
            out["g:" + g] = out.get("g:" + g, 0.0) + 0.6 / len(grams) ** 0.5
    return out


def embed(text: str, dims: int):
    """A float32 unit vector of length `dims`."""
    import numpy as np

    vec = np.zeros(dims, np.float64)
    for feature, weight in _features(text).items():
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=16).digest()
        for k in range(4):  # each feature spreads over 4 signed positions
            idx = int.from_bytes(digest[k * 4 : k * 4 + 3], "little") % dims
            sign = 1.0 if digest[k * 4 + 3] & 1 else -1.0
            vec[idx] += sign * weight
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:  # no words at all: a fixed direction from the raw text
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        vec[int.from_bytes(digest, "little") % dims] = 1.0
        norm = 1.0
    return (vec / norm).astype(np.float32)
