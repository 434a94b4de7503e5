"""Files, fine-tuning jobs, batches and the model list: the routes outside /openai/deployments/, on the Store."""

from __future__ import annotations

from typing import Any

from app.emulator.catalog import DEPLOYMENTS
from app.emulator.jobs import Store
from app.emulator.wire import WireHandler


class JobsOps(WireHandler):
    """The handler's /openai/files, /fine_tuning/jobs, /batches and /models routes."""

    def _not_found(self, what: str, ident: str) -> None:
        self._error(
            404,
            {
                "code": "NotFound",
                "message": f"{what} with id '{ident}' not found.",
                "param": None,
                "type": "invalid_request_error",
            },
        )

    def _jobs_route(
        self,
        method: str,
        path: str,
        query: dict,
        js: Any,
        form: dict | None,
        files: dict[str, tuple[str, bytes]],
    ) -> None:
        store: Store = self.emu._store
        store.seconds = float(self.emu.job_seconds)
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["openai"]:
            return self._error(404, {"code": "404", "message": "Resource not found"})
        parts = parts[1:]
        js = js if isinstance(js, dict) else {}
        if parts[:1] == ["files"]:
            if len(parts) == 1 and method == "GET":
                return self._json(
                    200, {"object": "list", "data": store.list_files(query.get("purpose")), "has_more": False}
                )
            if len(parts) == 1 and method == "POST":
                purpose = (form or {}).get("purpose")
                if "file" not in files:
                    return self._invalid("'file' is a required property", "file")
                if purpose not in ("fine-tune", "batch", "assistants", "vision", "user_data", "evals"):
                    return self._invalid(
                        f"Invalid value for purpose: {purpose!r}.", "purpose", "invalidPayload"
                    )
                filename, data = files["file"]
                return self._json(200, store.add_file(filename, str(purpose), data).to_json())
            f = store.get_file(parts[1]) if len(parts) >= 2 else None
            if f is None:
                return self._not_found("File", parts[1] if len(parts) > 1 else "")
            if len(parts) == 2 and method == "GET":
                return self._json(200, f.to_json())
            if len(parts) == 2 and method == "DELETE":
                store.delete_file(f.id)
                return self._json(200, {"id": f.id, "object": "file", "deleted": True})
            if len(parts) == 3 and parts[2] == "content" and method == "GET":
                return self._send(200, f.data, "application/octet-stream")
        elif parts[:2] == ["fine_tuning", "jobs"]:
            rest = parts[2:]
            if not rest and method == "POST":
                if not js.get("model") or not js.get("training_file"):
                    return self._invalid("'model' and 'training_file' are required.", "training_file")
                if store.get_file(str(js["training_file"])) is None:
                    return self._invalid(
                        f"The training file '{js['training_file']}' was not found.",
                        "training_file",
                        "invalidPayload",
                    )
                return self._json(200, store.ft_json(store.create("ft", js)))
            if not rest and method == "GET":
                return self._page([store.ft_json(j) for j in store.all("ft")], query)
            job = store.get("ft", rest[0]) if rest else None
            if job is None:
                return self._not_found("Fine-tuning job", rest[0] if rest else "")
            if len(rest) == 1 and method == "GET":
                return self._json(200, store.ft_json(job))
            if rest[1:] == ["cancel"] and method == "POST":
                store.cancel(job)
                return self._json(200, store.ft_json(job))
            if rest[1:] == ["events"] and method == "GET":
                return self._page(store.ft_events(job), query)
            if rest[1:] == ["checkpoints"] and method == "GET":
                return self._page([], query)
        elif parts[:1] == ["batches"]:
            rest = parts[1:]
            if not rest and method == "POST":
                file_id = str(js.get("input_file_id") or "")
                source = store.get_file(file_id)
                if source is None:
                    return self._invalid(
                        f"The input file '{file_id}' was not found.", "input_file_id", "invalidPayload"
                    )
                endpoint = js.get("endpoint") or "/chat/completions"
                if endpoint not in (
                    "/chat/completions",
                    "/v1/chat/completions",
                    "/embeddings",
                    "/completions",
                ):
                    return self._invalid(f"Unsupported endpoint '{endpoint}'.", "endpoint", "invalidPayload")
                total = sum(1 for line in source.data.splitlines() if line.strip())
                return self._json(200, store.batch_json(store.create("batch", js, total)))
            if not rest and method == "GET":
                return self._page([store.batch_json(j) for j in store.all("batch")], query)
            job = store.get("batch", rest[0]) if rest else None
            if job is None:
                return self._not_found("Batch", rest[0] if rest else "")
            if len(rest) == 1 and method == "GET":
                return self._json(200, store.batch_json(job))
            if rest[1:] == ["cancel"] and method == "POST":
                store.cancel(job)
                return self._json(200, store.batch_json(job))
        elif parts == ["models"] and method == "GET":
            return self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": name, "object": "model", "created": 0, "owned_by": "system"}
                        for name in DEPLOYMENTS
                    ],
                },
            )
        return self._error(404, {"code": "404", "message": "Resource not found"})

    def _page(self, items: list[dict], query: dict) -> None:
        after = query.get("after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        try:
            limit = max(1, min(100, int(query.get("limit") or 20)))
        except ValueError:
            limit = 20
        self._json(200, {"object": "list", "data": items[:limit], "has_more": len(items) > limit})
