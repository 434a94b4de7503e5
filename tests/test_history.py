"""History: schema and migrations, recovery of unreadable files, messages, streaming, search, export, crash safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.core import history as history_mod
from app.core.errors import Kind, Problem
from app.core.events import Usage
from app.core.filters import Category, Source, Verdict
from app.core.history import SCHEMA_VERSION, Attachment, FinishReason, History, MessageStatus
from app.core.history import conversations as history_conversations
from app.core.history import schema as history_schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(parley_home):
    h = History.open()
    yield h
    h.close()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


# ---- opening, migrations, unreadable files -----------------------------------------------------------------


def test_default_path_is_in_data_dir_and_pragmas(db, parley_home):
    assert db.path == parley_home / "data" / "history.sqlite3"
    assert db.schema_version == SCHEMA_VERSION
    assert db.recovery_note is None
    conn = db._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert {
        "conversations",
        "messages",
        "attachments",
        "messages_fts",
        "images",
        "message_vectors",
    } <= _tables(db.path)


def test_open_returns_the_same_instance_while_held(db):
    assert History.open() is db


def test_migrates_an_empty_file(tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.write_bytes(b"")
    with History.open(path) as h:
        assert h.recovery_note is None
        assert h.schema_version == SCHEMA_VERSION
        c = h.create_conversation()
        h.add_message(c.id, "user", "hello")
    assert "messages_fts" in _tables(path)


def test_migrates_a_v0_file_keeping_its_data(tmp_path):
    path = tmp_path / "v0.sqlite3"
    with sqlite3.connect(path) as conn:  # a pretend v0: a database without our tables, user_version 0
        conn.execute("CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO legacy_notes (body) VALUES ('keep me')")
    with History.open(path) as h:
        assert h.recovery_note is None
        assert h.schema_version == SCHEMA_VERSION
        assert h.list_conversations() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT body FROM legacy_notes").fetchone()[0] == "keep me"
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite3"
    History.open(path).close()
    monkeypatch.setattr(
        history_schema, "MIGRATIONS", [*history_schema.MIGRATIONS, "CREATE TABLE extra (x); SELECT nonsense("]
    )
    monkeypatch.setattr(history_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with sqlite3.connect(path, isolation_level=None) as conn, pytest.raises(sqlite3.Error):
        history_schema.migrate(conn, SCHEMA_VERSION)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert "extra" not in _tables(path)


def test_corrupt_file_is_moved_aside_with_a_note(parley_home):
    data = parley_home / "data"
    data.mkdir(parents=True)
    garbage = os.urandom(8192)
    (data / "history.sqlite3").write_bytes(garbage)
    (data / "history.sqlite3-wal").write_bytes(b"wal junk")
    h = History.open()
    try:
        assert (
            h.recovery_note
            and "could not be read" in h.recovery_note
            and "started a new one" in h.recovery_note
        )
        moved = [p for p in data.iterdir() if ".corrupt-" in p.name and not p.name.endswith("-wal")]
        assert len(moved) == 1 and moved[0].read_bytes() == garbage
        assert str(moved[0]) in h.recovery_note
        assert Path(str(moved[0]) + "-wal").read_bytes() == b"wal junk"
        c = h.create_conversation()  # the new file works
        assert h.list_conversations()[0].id == c.id
    finally:
        h.close()


def test_newer_schema_is_moved_aside_untouched(tmp_path):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = path.read_bytes()
    with History.open(path) as h:
        assert h.recovery_note and "newer version" in h.recovery_note
        moved = [p for p in tmp_path.iterdir() if ".newer-" in p.name]
        assert len(moved) == 1 and moved[0].read_bytes() == before
        assert h.schema_version == SCHEMA_VERSION


# ---- conversations -----------------------------------------------------------------------------------------


def test_conversation_settings_and_pin_ordering(db):
    a = db.create_conversation("A", system_prompt="Be brief.", deployment="gpt-4o")
    time.sleep(0.002)
    b = db.create_conversation("B")
    time.sleep(0.002)
    c = db.create_conversation("C")
    assert [x.title for x in db.list_conversations()] == ["C", "B", "A"]
    db.set_pinned(a.id, True)
    assert [x.title for x in db.list_conversations()] == ["A", "C", "B"]
    time.sleep(0.002)
    db.add_message(b.id, "user", "bump")
    assert [x.title for x in db.list_conversations()] == ["A", "B", "C"]
    db.rename(c.id, "Renamed")
    db.set_system_prompt(b.id, "You are terse.")
    db.set_deployment(b.id, "gpt-4o-mini")
    got = db.get_conversation(b.id)
    assert got.system_prompt == "You are terse." and got.deployment == "gpt-4o-mini"
    assert db.get_conversation(c.id).title == "Renamed"
    assert db.get_conversation(a.id).pinned is True and db.get_conversation(a.id).system_prompt == "Be brief."


def test_auto_title_from_first_user_message(db):
    c = db.create_conversation()
    db.add_message(c.id, "system", "ignored for titles")
    db.add_message(c.id, "user", "  Plan a   three day trip to Lisbon in spring please ")
    assert db.get_conversation(c.id).title == "Plan a three day trip to…"
    db.add_message(c.id, "user", "Something else entirely")
    assert db.get_conversation(c.id).title == "Plan a three day trip to…"
    named = db.create_conversation("Mine")
    db.add_message(named.id, "user", "hello there")
    assert db.get_conversation(named.id).title == "Mine"


def test_soft_delete_undo_and_purge(db):
    c = db.create_conversation("Doomed")
    db.add_message(c.id, "user", "remember the zeppelin")
    db.delete_conversation(c.id)
    assert db.list_conversations() == []
    assert db.list_conversations(include_deleted=True)[0].deleted_at is not None
    assert db.search("zeppelin") == []
    db.restore_conversation(c.id)
    assert [x.id for x in db.list_conversations()] == [c.id]
    assert len(db.search("zeppelin")) == 1
    db.delete_conversation(c.id)
    assert db.purge_deleted(older_than_seconds=3600) == 0
    assert db.purge_deleted(older_than_seconds=0) == 1
    assert db.list_conversations(include_deleted=True) == [] and db.messages(c.id) == []
    assert (
        db._conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zeppelin'").fetchone()[
            0
        ]
        == 0
    )


# ---- messages ----------------------------------------------------------------------------------------------


def test_message_round_trip_with_attachments(db):
    c = db.create_conversation()
    png = b"\x89PNG\r\n\x1a\nthumb"
    m = db.add_message(
        c.id,
        "user",
        "What is in this picture?",
        attachments=[
            Attachment.new("image/png", "cat.png", png),
            {"mime": "image/jpeg", "name": "big.jpg", "path": "/tmp/big.jpg"},
        ],
    )
    assert m.status == "complete" and len(m.attachments) == 2
    [got] = db.messages(c.id)
    assert got == m
    assert got.attachments[0].data == png and got.attachments[1].path == "/tmp/big.jpg"
    assert got.attachments[0].message_id == m.id
    assert db.get_message(m.id) == m


def test_streaming_then_finish(db):
    c = db.create_conversation()
    u = db.add_message(c.id, "user", "Tell me a story")
    a = db.begin_assistant(c.id)
    assert a.status == "streaming" and a.role == "assistant" and a.text == ""
    db.append_streaming(a.id, "Once")
    db.append_streaming(a.id, " upon")
    assert db.get_message(a.id).text == "Once upon"
    verdict = Verdict(
        Source.COMPLETION,
        (Category("violence", True, severity="medium"), Category("hate", False, severity="safe")),
    )
    problem = Problem(Kind.FILTERED, "Blocked", "The answer was filtered.", "Rephrase.", request_id="req-1")
    db.finish_message(
        a.id,
        "Once upon a time",
        MessageStatus.FILTERED,
        finish_reason=FinishReason.CONTENT_FILTER,
        request_id="req-1",
        usage=Usage(10, 4, 14),
        verdicts=[verdict],
        problem=problem,
    )
    m = db.messages(c.id)[1]
    assert (m.text, m.status, m.finish_reason, m.request_id) == (
        "Once upon a time",
        "filtered",
        "content_filter",
        "req-1",
    )
    assert m.usage == Usage(10, 4, 14)
    assert m.verdicts == (verdict,) and m.problem == problem
    assert m.status is MessageStatus.FILTERED and m.finish_reason is FinishReason.CONTENT_FILTER
    db.append_streaming(a.id, " late write is ignored once finished")
    assert db.get_message(a.id).text == "Once upon a time"
    late = Verdict(Source.COMPLETION, (Category("protected_material_text", False, detected=True),))
    db.set_filters(a.id, [verdict, late])
    assert db.get_message(a.id).verdicts == (verdict, late)
    assert [x.id for x in db.messages(c.id)] == [u.id, a.id]
    with pytest.raises(TypeError):
        db.finish_message(a.id, "x", "weird")
    # Only typed values are stored: a JSON dict where a value belongs is refused, and nothing changes.
    with pytest.raises(TypeError):
        db.finish_message(a.id, "x", MessageStatus.FAILED, problem=problem.to_json())
    with pytest.raises(TypeError):
        db.finish_message(a.id, "x", MessageStatus.COMPLETE, usage={"prompt_tokens": 1})
    with pytest.raises(TypeError):
        db.set_filters(a.id, [verdict.to_json()])
    assert db.get_message(a.id).text == "Once upon a time" and db.get_message(a.id).verdicts == (
        verdict,
        late,
    )


def test_edit_and_truncate_for_resend(db):
    c = db.create_conversation()
    u1 = db.add_message(c.id, "user", "first")
    db.add_message(c.id, "assistant", "answer one")
    u2 = db.add_message(c.id, "user", "second")
    db.add_message(c.id, "assistant", "answer two")
    db.update_message_text(u2.id, "second, edited")
    assert db.delete_messages_after(c.id, u2.id) == 1
    assert [m.text for m in db.messages(c.id)] == ["first", "answer one", "second, edited"]
    assert db.search("edited")[0].message_id == u2.id
    db.delete_messages_after(c.id, u1.id)
    assert [m.text for m in db.messages(c.id)] == ["first"]


# ---- search ------------------------------------------------------------------------------------------------


def test_search_word_prefix_diacritics_and_snippet(db):
    c = db.create_conversation("Trip")
    m1 = db.add_message(c.id, "user", "Which museums are open in Lisbon on Mondays?")
    db.add_message(c.id, "assistant", "The Gulbenkian museum is closed on Tuesdays.")
    d = db.create_conversation("Food")
    m3 = db.add_message(d.id, "user", "A good café near the river?")
    hits = db.search("Lisbon")
    assert [h.message_id for h in hits] == [m1.id]
    assert "[[Lisbon]]" in hits[0].snippet and hits[0].conversation_title == "Trip" and hits[0].role == "user"
    assert len(db.search("muse")) == 2  # prefix on the last term
    assert db.search("cafe")[0].message_id == m3.id  # diacritics removed
    assert [h.message_id for h in db.search("open lisb")] == [m1.id]  # all terms, prefix on the last
    assert db.search("museums tuesdays") == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "AND",
        "OR NOT",
        "-",
        "-lisbon",
        "lis*",
        '"unbalanced',
        'a"b',
        "NEAR(a b)",
        "(",
        "^",
        "col:lisbon",
        "",
        "   ",
        "ü",
        "it's",
        "+ - * /",
    ],
)
def test_search_quotes_odd_input(db, query):
    c = db.create_conversation()
    db.add_message(c.id, "user", "AND or NOT in Lisbon, it's a-b")
    assert isinstance(db.search(query), list)


def test_search_odd_input_still_finds_plain_words(db):
    c = db.create_conversation()
    m = db.add_message(c.id, "user", "Search AND logic - with NOT operators")
    assert db.search("AND")[0].message_id == m.id
    assert db.search("-logic")[0].message_id == m.id
    assert db.search('"operators"')[0].message_id == m.id


# ---- export ------------------------------------------------------------------------------------------------


def _filled(db):
    c = db.create_conversation("Cats", system_prompt="You are a vet.\nBe kind.", deployment="gpt-4o")
    db.add_message(
        c.id, "user", "Is this cat healthy?", attachments=[Attachment.new("image/png", "cat.png", b"PNG")]
    )
    a = db.begin_assistant(c.id)
    verdict = Verdict(Source.COMPLETION, (Category("violence", False, severity="low"),))
    db.finish_message(
        a.id,
        "It looks **healthy**.",
        MessageStatus.COMPLETE,
        finish_reason=FinishReason.STOP,
        request_id="rid-9",
        usage=Usage(20, 5, 25),
        verdicts=[verdict],
    )
    return c


def test_export_markdown(db):
    c = _filled(db)
    md = db.export_markdown(c.id)
    assert md.startswith("# Cats\n")
    assert "> You are a vet.\n> Be kind." in md
    assert "## User\n\nIs this cat healthy?" in md and "## Assistant\n\nIt looks **healthy**." in md
    assert "![cat.png](attachment)" in md
    assert "Content filter" in md and "Violence (low)" in md
    assert "20 prompt, 5 completion, 25 total" in md


def test_export_json(db):
    c = _filled(db)
    data = db.export_json(c.id)
    json.dumps(data)  # serialisable as is
    assert data["format"] == "parley-conversation" and data["schema_version"] == SCHEMA_VERSION
    assert data["conversation"]["title"] == "Cats" and data["conversation"]["deployment"] == "gpt-4o"
    user, assistant = data["messages"]
    assert user["attachments"][0]["data_base64"] == "UE5H" and user["attachments"][0]["name"] == "cat.png"
    assert assistant["usage"]["total_tokens"] == 25 and assistant["request_id"] == "rid-9"
    assert assistant["filters"][0]["categories"][0]["severity"] == "low"
    assert "api_key" not in json.dumps(data).lower()
    with pytest.raises(KeyError):
        db.export_json(999)


# ---- images and vectors ------------------------------------------------------------------------------------


def test_images_gallery_rows(db):
    a = db.add_image(
        path="/x/a.png",
        prompt="a fox",
        revised_prompt="a red fox",
        options={"size": "1024x1024"},
        deployment="dall-e-3",
    )
    time.sleep(0.002)
    b = db.add_image(path="/x/b.png", prompt="a cat")
    assert [i.id for i in db.list_images()] == [b.id, a.id]
    assert (
        db.list_images()[1].options == {"size": "1024x1024"}
        and db.list_images()[1].revised_prompt == "a red fox"
    )
    db.delete_image(a.id)
    assert [i.id for i in db.list_images()] == [b.id]
    assert len(db.list_images(include_deleted=True)) == 2
    db.restore_image(a.id)
    assert len(db.list_images()) == 2
    db.delete_image(b.id)
    assert db.purge_deleted_images(0) == ["/x/b.png"]


def test_vectors(db):
    import struct

    c = db.create_conversation()
    m1 = db.add_message(c.id, "user", "one")
    m2 = db.add_message(c.id, "assistant", "two")
    db.begin_assistant(c.id)  # streaming: not ready for embedding
    assert db.messages_without_vectors("emb", 10) == [(m1.id, "one"), (m2.id, "two")]
    db.store_vectors([(m1.id, "emb", struct.pack("<3f", 1, 2, 3))])
    assert db.messages_without_vectors("emb", 10) == [(m2.id, "two")]
    ids, matrix = db.vectors("emb")
    assert ids == [m1.id] and struct.unpack("<3f", matrix) == (1.0, 2.0, 3.0)
    db.update_message_text(m1.id, "one, edited")  # an edit makes the vector stale
    assert db.vectors("emb") == ([], b"")


# ---- concurrency and crash safety --------------------------------------------------------------------------


def test_two_threads_writing(db):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            c = db.create_conversation(f"thread {n}")
            for i in range(150):
                db.add_message(c.id, "user", f"message {i} from thread {n}")
                a = db.begin_assistant(c.id)
                db.append_streaming(a.id, "partial")
                db.finish_message(a.id, f"reply {i}", MessageStatus.COMPLETE)
                if i % 50 == 0:
                    db.search("thread")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    convs = db.list_conversations()
    assert len(convs) == 2 and all(len(db.messages(c.id)) == 300 for c in convs)


CHILD = r"""
import sys, time
from app.core.history import History
h = History.open(sys.argv[1])
c = h.create_conversation()
h.add_message(c.id, "user", "Write a long poem")
a = h.begin_assistant(c.id)
print(a.id, flush=True)
text = ""
for i in range(100000):
    text += f"word{i} "
    h.append_streaming(a.id, f"word{i} ")
    print(text, flush=True)
    time.sleep(0.01)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_stream_keeps_user_message_and_partial_answer(tmp_path):
    path = tmp_path / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        message_id = int(proc.stdout.readline())
        last = ""
        for _ in range(8):
            last = proc.stdout.readline().rstrip("\n")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and last.startswith("word0 word1")
    with History.open(path) as h:
        conv = h.list_conversations()[0]
        user, answer = h.messages(conv.id)
        assert user.text == "Write a long poem" and conv.title == "Write a long poem"
        assert answer.id == message_id
        assert answer.text.startswith(last)
        assert len(answer.text) - len(last) <= len(
            "word1000 "
        )  # at most the update written after the last line read
        assert answer.status == "stopped" and answer.finish_reason == "interrupted" and answer.interrupted


def test_streaming_of_a_live_other_process_is_left_alone(tmp_path):
    path = tmp_path / "history.sqlite3"
    with History.open(path) as h:
        c = h.create_conversation()
        a = h.begin_assistant(c.id)
        h._conn.execute("UPDATE messages SET writer_pid = ? WHERE id = ?", (os.getppid(), a.id))
    history_schema._checked.clear()
    with History.open(path) as h:
        assert h.get_message(a.id).status == "streaming"


def test_damaged_pages_fail_the_check_and_are_moved_aside(tmp_path):
    path = tmp_path / "history.sqlite3"
    with History.open(path) as h:
        c = h.create_conversation()
        for i in range(300):
            h.add_message(c.id, "user", f"message number {i} " * 20)
        h._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(raw) - page, 3 * page):  # keep the header page, scramble others
        raw[start + 8 : start + 200] = os.urandom(192)
    path.write_bytes(bytes(raw))
    history_schema._checked.clear()
    with History.open(path) as h:
        assert h.recovery_note and "could not be read" in h.recovery_note
        assert h.list_conversations() == []
    assert [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_search_with_very_many_matches_returns_newest_first(db, monkeypatch):
    monkeypatch.setattr(history_conversations, "RANK_ALL_LIMIT", 5)
    c = db.create_conversation()
    ids = [db.add_message(c.id, "user", f"common word number {i}").id for i in range(12)]
    hits = db.search("common", limit=3)
    assert [h.message_id for h in hits] == ids[::-1][:3]
    assert db.search("number 7")[0].message_id == ids[7]  # few matches: ranked


def test_fts_query_shapes():
    assert history_mod.fts_query('say "hi" AND -x') == '"say" """hi""" "AND" "-x"*'
    assert history_mod.fts_query("a t") == '"a" "t"'  # a single letter is not a prefix search
    assert history_mod.fts_query('* - "') == ""


def test_every_opener_hears_that_a_corrupt_file_was_moved_aside(tmp_path):
    """Two jobs open the history at start-up; the one that recovers it may be gone before the chat tab opens it."""
    import gc

    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"garbage" * 500)
    first = History.open(path)
    note = first.recovery_note
    assert note and "moved" in note
    first.close()
    del first
    gc.collect()
    again = History.open(path)
    assert again.recovery_note == note
    again.close()


# ---- what the search index holds (v3, v4): finished text only, its first SEARCH_CHARS ------------------------------


def _fts_rows(path: Path, word: str) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [
            r[0] for r in conn.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (word,))
        ]


def test_a_streaming_answer_is_searchable_once_it_ends_and_not_before(db):
    c = db.create_conversation()
    a = db.begin_assistant(c.id)
    db.append_streaming(a.id, "the lighthouse keeper")
    assert [h.message_id for h in db.search("lighthouse")] == []  # not re-indexed every second while it grows
    db.append_streaming(a.id, " climbed the stairs")
    db.finish_message(a.id, None, MessageStatus.COMPLETE)  # None: the stored text is the answer
    assert db.get_message(a.id).text == "the lighthouse keeper climbed the stairs"
    assert [h.message_id for h in db.search("lighthouse")] == [a.id]
    assert [h.message_id for h in db.search("stairs")] == [a.id]
    db.resume_streaming(a.id)  # Continue: it streams again, appending
    db.append_streaming(a.id, " and lit the lamp")
    db.finish_message(a.id, None, MessageStatus.COMPLETE)
    assert db.get_message(a.id).text == "the lighthouse keeper climbed the stairs and lit the lamp"
    assert [h.message_id for h in db.search("lamp")] == [a.id]
    assert _fts_rows(db.path, "lighthouse") == [a.id]  # once, with no stale entry left by the rewrites
    with sqlite3.connect(db.path) as conn:
        conn.execute("DELETE FROM messages WHERE id = ?", (a.id,))
    assert _fts_rows(db.path, "lighthouse") == []
    with sqlite3.connect(db.path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)")


def test_an_edited_message_is_found_by_its_new_words_only(db):
    c = db.create_conversation()
    u = db.add_message(c.id, "user", "how tall is the lighthouse")
    db.update_message_text(u.id, "how old is the harbour")  # edit and resend
    assert db.search("lighthouse") == [] and [h.message_id for h in db.search("harbour")] == [u.id]
    db.finish_message(u.id, "how old is the harbour wall", MessageStatus.FAILED)
    assert _fts_rows(db.path, "harbour") == [u.id] and [h.message_id for h in db.search("wall")] == [u.id]
    with sqlite3.connect(db.path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)")
        # v4: a streaming reply's saves (UPDATE OF text) fire no trigger, so none copies its text
        names = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
    assert not [sql for sql in names if "UPDATE OF text ON messages" in sql and "new.text" in sql]


def test_only_the_first_million_characters_of_a_huge_answer_are_indexed(db):
    c = db.create_conversation()
    a = db.begin_assistant(c.id)
    text = "opening " + "filler " * (history_schema.SEARCH_CHARS // 7) + " farewell"
    db.finish_message(a.id, text, MessageStatus.COMPLETE)
    assert db.get_message(a.id).text == text  # all of it is kept
    assert [h.message_id for h in db.search("opening")] == [a.id]
    assert db.search("farewell") == []
    db.finish_message(a.id, "short now", MessageStatus.COMPLETE)
    assert db.search("opening") == [] and [h.message_id for h in db.search("short")] == [a.id]
    with sqlite3.connect(db.path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)")


def test_a_v2_file_with_a_reply_left_streaming_migrates_to_a_consistent_index(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for script in history_schema.MIGRATIONS[:2]:
            conn.executescript(script)
        conn.execute("PRAGMA user_version = 2")
        conn.execute("INSERT INTO conversations (id, created_at, updated_at) VALUES (1, 0, 0)")
        conn.execute(  # indexed in full by v2's triggers while it streamed; its writer died long ago
            "INSERT INTO messages (id, conversation_id, role, text, created_at, status, writer_pid)"
            " VALUES (1, 1, 'assistant', 'half a sentence about tides', 0, 'streaming', 999999999)"
        )
        huge = "opening " + "filler " * (history_schema.SEARCH_CHARS // 7) + " farewell"
        conn.execute(
            "INSERT INTO messages (id, conversation_id, role, text, created_at) VALUES (2, 1, 'assistant', ?, 0)",
            (huge,),
        )
    h = History.open(path)
    try:
        assert [m.status for m in h.messages(1)][0] != MessageStatus.STREAMING  # recovered
        assert [x.message_id for x in h.search("tides")] == [1]  # indexed once, when recovery ended it
        assert h.search("farewell") == [] and [x.message_id for x in h.search("opening")] == [2]
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)")
            conn.execute("DELETE FROM messages")
        assert h.search("tides") == [] and h.search("opening") == []
    finally:
        h.close()
