"""In-memory files, fine-tuning jobs and batches whose status advances with elapsed time (thread-safe)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from app.emulator import content

FT_STEPS = ("validating_files", "queued", "running", "succeeded")
BATCH_STEPS = ("validating", "in_progress", "finalizing", "completed")
FT_TERMINAL = ("succeeded", "failed", "cancelled")
BATCH_TERMINAL = ("completed", "failed", "cancelled", "expired")


def _id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


@dataclass
class Job:
    kind: str  # "ft" or "batch"
    id: str
    created_at: int
    started: float  # monotonic
    body: dict[str, Any]
    cancelled_at: int | None = None
    total: int = 0
    output_file_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Store:
    def __init__(self, seconds: float = 6.0):
        self.seconds = seconds  # how long a job takes from creation to success
        self._lock = threading.Lock()
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, Job] = {}

    # -- files --------------------------------------------------------------------------------------------------

    def add_file(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        f = StoredFile(_id("file-"), filename, purpose, data, int(time.time()))
        with self._lock:
            self.files[f.id] = f
        return f

    def get_file(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self.files.get(file_id)

    def delete_file(self, file_id: str) -> bool:
        with self._lock:
            return self.files.pop(file_id, None) is not None

    def list_files(self, purpose: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            files = list(self.files.values())
        return [
            f.to_json()
            for f in sorted(files, key=lambda f: f.created_at)
            if not purpose or f.purpose == purpose
        ]

    # -- jobs ---------------------------------------------------------------------------------------------------

    def create(self, kind: str, body: dict[str, Any], total: int = 0) -> Job:
        job = Job(
            kind,
            _id("ftjob-" if kind == "ft" else "batch_"),
            int(time.time()),
            time.monotonic(),
            body,
            total=total,
        )
        with self._lock:
            self.jobs[job.id] = job
        return job

    def get(self, kind: str, job_id: str) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
        return job if job is not None and job.kind == kind else None

    def all(self, kind: str) -> list[Job]:
        with self._lock:
            jobs = [j for j in self.jobs.values() if j.kind == kind]
        return sorted(jobs, key=lambda j: (j.created_at, j.started), reverse=True)

    def cancel(self, job: Job) -> None:
        if self.status(job)[0] not in (FT_TERMINAL if job.kind == "ft" else BATCH_TERMINAL):
            job.cancelled_at = int(time.time())

    def status(self, job: Job) -> tuple[str, int, float]:
        """(status, step index, elapsed fraction of the whole run)."""
        steps = FT_STEPS if job.kind == "ft" else BATCH_STEPS
        if job.cancelled_at is not None:
            return "cancelled", -1, 0.0
        frac = (time.monotonic() - job.started) / max(self.seconds, 1e-6)
        bounds = (0.15, 0.3, 1.0) if job.kind == "ft" else (0.15, 0.85, 1.0)
        step = next((i for i, b in enumerate(bounds) if frac < b), len(steps) - 1)
        return steps[step], step, min(frac, 1.0)

    def _at(self, job: Job, frac: float) -> int:
        return job.created_at + int(round(frac * self.seconds))

    # -- shapes -------------------------------------------------------------------------------------------------

    def ft_json(self, job: Job) -> dict[str, Any]:
        status, step, frac = self.status(job)
        model = str(job.body.get("model", ""))
        done = status == "succeeded"
        hp = job.body.get("hyperparameters") or {}
        return {
            "id": job.id,
            "object": "fine_tuning.job",
            "created_at": job.created_at,
            "error": None,
            "fine_tuned_model": f"{model}.ft-{job.id[-12:]}" if done else None,
            "finished_at": self._at(job, 1.0)
            if done
            else (job.cancelled_at if status == "cancelled" else None),
            "hyperparameters": {
                "n_epochs": hp.get("n_epochs", 3),
                "batch_size": hp.get("batch_size", 1),
                "learning_rate_multiplier": hp.get("learning_rate_multiplier", 1.0),
            },
            "model": model,
            "organization_id": "org-emulator",
            "result_files": [],
            "seed": job.body.get("seed", 42),
            "status": status,
            "trained_tokens": 4096 if done else None,
            "training_file": job.body.get("training_file"),
            "validation_file": job.body.get("validation_file"),
            "estimated_finish": None if done or status == "cancelled" else self._at(job, 1.0),
            "integrations": None,
            "suffix": job.body.get("suffix"),
        }

    def ft_events(self, job: Job) -> list[dict[str, Any]]:
        status, step, frac = self.status(job)
        messages = [(0.0, "Validating training file: " + str(job.body.get("training_file")))]
        if step >= 1 or status == "cancelled" and frac:
            messages.append((0.15, "Files validated, moving job to queued state"))
        if step >= 2:
            messages.append((0.3, "Fine-tuning job started"))
            epochs = 3
            for e in range(1, epochs + 1):
                at = 0.3 + 0.7 * e / (epochs + 1)
                if frac >= at:
                    messages.append((at, f"Step {e * 10}/40: training loss={1.0 / (e + 1):.4f}"))
        if step >= 3:
            messages.append((1.0, "The job has successfully completed"))
        if status == "cancelled":
            messages.append((frac, "Fine-tuning job cancelled"))
        out = []
        for i, (at, msg) in enumerate(messages):
            out.append(
                {
                    "id": f"ftevent-{job.id[-8:]}{i:04d}",
                    "object": "fine_tuning.job.event",
                    "created_at": self._at(job, at),
                    "level": "info",
                    "message": msg,
                    "data": {},
                    "type": "message",
                }
            )
        return list(reversed(out))

    def batch_json(self, job: Job) -> dict[str, Any]:
        status, step, frac = self.status(job)
        total = job.total
        if status == "completed" and job.output_file_id is None:
            job.output_file_id = self._batch_output(job).id
        progressed = 1.0 if step >= 2 else max(0.0, (frac - 0.15) / 0.7) if step == 1 else 0.0
        completed = total if step >= 2 else int(total * progressed)
        return {
            "id": job.id,
            "object": "batch",
            "endpoint": job.body.get("endpoint", "/chat/completions"),
            "errors": None,
            "input_file_id": job.body.get("input_file_id"),
            "completion_window": job.body.get("completion_window", "24h"),
            "status": status,
            "output_file_id": job.output_file_id if status == "completed" else None,
            "error_file_id": None,
            "created_at": job.created_at,
            "in_progress_at": self._at(job, 0.15) if step >= 1 else None,
            "expires_at": job.created_at + 24 * 3600,
            "finalizing_at": self._at(job, 0.85) if step >= 2 else None,
            "completed_at": self._at(job, 1.0) if status == "completed" else None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": job.cancelled_at,
            "cancelled_at": job.cancelled_at,
            "request_counts": {
                "total": total,
                "completed": completed if status != "cancelled" else 0,
                "failed": 0,
            },
            "metadata": job.body.get("metadata"),
        }

    def _batch_output(self, job: Job) -> StoredFile:
        source = self.get_file(str(job.body.get("input_file_id")))
        lines = []
        for raw in source.data.decode("utf-8", "replace").splitlines() if source else []:
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(item, dict):
                continue
            body = item.get("body") or {}
            messages = body.get("messages") or [{}]
            question = str(messages[-1].get("content", "")) if isinstance(messages[-1], dict) else ""
            answer = content.answer_markdown(question)
            lines.append(
                json.dumps(
                    {
                        "custom_id": item.get("custom_id"),
                        "error": None,
                        "response": {
                            "status_code": 200,
                            "request_id": secrets.token_hex(16),
                            "body": {
                                "id": _id("chatcmpl-"),
                                "object": "chat.completion",
                                "created": int(time.time()),
                                "model": body.get("model"),
                                "choices": [
                                    {
                                        "index": 0,
                                        "finish_reason": "stop",
                                        "logprobs": None,
                                        "message": {"role": "assistant", "content": answer},
                                        "content_filter_results": content.safe_results(),
                                    }
                                ],
                                "usage": {
                                    "prompt_tokens": content.count_tokens(question) + 7,
                                    "completion_tokens": content.count_tokens(answer),
                                    "total_tokens": content.count_tokens(question)
                                    + 7
                                    + content.count_tokens(answer),
                                },
                            },
                        },
                    }
                )
            )
        return self.add_file(f"{job.id}_output.jsonl", "batch_output", ("\n".join(lines) + "\n").encode())
