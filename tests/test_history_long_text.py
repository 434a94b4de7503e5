"""A message longer than what search indexes (SEARCH_CHARS) keeps the rest in parts (schema v5, #16): a streaming
reply's saves append parts instead of rewriting a growing row, and every reader gets the whole text back."""

from __future__ import annotations

import sqlite3

import pytest

from app.core.history import History, MessageStatus
from app.core.history.schema import SEARCH_CHARS


@pytest.fixture
def db(parley_home):
    h = History.open()
    yield h
    h.close()


def _stored(db: History, message_id: int) -> tuple[int, int]:
    """(characters in the message's row, its parts), as the file holds them."""
    with sqlite3.connect(db.path) as conn:
        row_chars = conn.execute("SELECT length(text) FROM messages WHERE id = ?", (message_id,)).fetchone()[
            0
        ]
        parts = conn.execute(
            "SELECT count(*) FROM message_parts WHERE message_id = ?", (message_id,)
        ).fetchone()[0]
    return row_chars, parts


def _words(n: int, tag: str) -> str:
    return "".join(f"{tag}{i:07d} " for i in range(n))  # 12 characters a word


def test_a_long_streaming_reply_is_stored_whole_without_rewriting_its_row(db):
    conv = db.create_conversation("long")
    reply = db.begin_assistant(conv.id)
    saves = [_words(50_000, "alpha") for _ in range(4)]  # 600,000 characters a save, 2.4 M in all
    saves[-1] = saves[-1][:-6] + "omega "
    for text in saves:
        db.append_streaming(reply.id, text)
    row_chars, parts = _stored(db, reply.id)
    assert row_chars == SEARCH_CHARS and parts == 3  # the row stopped growing at the search limit
    db.finish_message(reply.id, None, MessageStatus.COMPLETE)
    whole = "".join(saves)
    assert db.get_message(reply.id).text == whole
    assert db.messages(conv.id)[-1].text == whole
    assert db.messages(conv.id)[-1].status is MessageStatus.COMPLETE
    assert whole.strip() in db.export_markdown(conv.id)
    assert [h.message_id for h in db.search("alpha0000001")] == [reply.id]  # in its first million characters


def test_an_edit_replaces_every_part_and_a_delete_leaves_none(db):
    conv = db.create_conversation("edit")
    long = _words(250_000, "beta")  # 3 M characters
    msg = db.add_message(conv.id, "user", long)
    assert db.get_message(msg.id).text == long and _stored(db, msg.id) == (SEARCH_CHARS, 2)
    db.update_message_text(msg.id, "short now")
    assert db.get_message(msg.id).text == "short now" and _stored(db, msg.id) == (9, 0)
    assert [h.message_id for h in db.search("short")] == [msg.id] and not db.search("beta0000001")
    db.update_message_text(msg.id, long + "gamma")
    assert db.get_message(msg.id).text == long + "gamma"
    db.delete_message(msg.id)
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM message_parts").fetchone()[0] == 0


def test_a_reply_finished_with_its_whole_text_is_split_the_same_way(db):
    conv = db.create_conversation("finish")
    reply = db.begin_assistant(conv.id)
    db.append_streaming(reply.id, "partial ")
    final = _words(120_000, "delta")  # 1.44 M characters
    db.finish_message(reply.id, final, MessageStatus.COMPLETE)
    assert db.get_message(reply.id).text == final and _stored(db, reply.id) == (SEARCH_CHARS, 1)
