"""`parley image`: an image (DALL-E 3 or the gpt-image family) into a file, and `parley image edit INPUT PROMPT`:
a multipart `images/edits` with an optional mask. Options are checked against the deployment's family first."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    FileName,
    UsageError,
    check_writable,
    err,
    json_line,
    positive_int,
    read_text,
    report,
    retry_words,
    write_file,
)
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.capabilities import Family
    from app.core.connection import Connection

FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def register(commands: Commands) -> None:
    p = commands.add(
        "image",
        "Generate an image (DALL-E 3 or gpt-image) into a file; `image edit INPUT PROMPT` edits one (gpt-image).",
        run,
    )
    p.add_argument(
        "words",
        nargs="+",
        metavar="PROMPT",
        action=_PromptOrEdit,
        help="the prompt (- reads it from stdin); or `edit INPUT PROMPT` to edit the image INPUT",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=FileName,
        required=True,
        help="the image file to write (.png, .jpg)",
    )
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="images deployment")
    p.add_argument(
        "--size",
        help="DALL-E: 1024x1024, 1792x1024, 1024x1792; gpt-image: 1024x1024, 1536x1024, 1024x1536, auto",
    )
    p.add_argument("--quality", help="DALL-E: standard, hd; gpt-image: low, medium, high, auto")
    p.add_argument("--background", choices=("transparent", "opaque", "auto"), help="gpt-image only")
    p.add_argument(
        "--format",
        dest="file_format",
        choices=("png", "jpeg", "webp"),
        help="the image file's format (default: from -o's extension); gpt-image only for jpeg and webp",
    )
    p.add_argument("--compression", type=int, metavar="0-100", help="gpt-image JPEG compression")
    p.add_argument(
        "-n", type=positive_int, default=1, help="gpt-image: how many images (1-10): FILE, FILE-2, …"
    )
    p.add_argument("--style", choices=("vivid", "natural"), help="DALL-E 3 only")
    p.add_argument(
        "--response-format", choices=("b64_json", "url"), help="DALL-E 3 only: how Azure returns it"
    )
    p.add_argument(
        "--mask",
        metavar="MASK.png",
        type=FileName,
        help="edit: a PNG whose transparent pixels mark what to repaint",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object per image")


class _PromptOrEdit(argparse.Action):
    """`PROMPT`, or `edit INPUT PROMPT`: INPUT is a file name (any encoding), the prompt words (UTF-8)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        words = list(values)
        if len(words) == 3 and words[0] == "edit":
            words[1] = FileName(words[1])
        setattr(namespace, self.dest, words)


def _family(args: argparse.Namespace, conn: Connection, deployment: str, edit: bool) -> Family:
    """The profile's family for the deployment; for a name that says nothing, the family the options belong to."""
    from app.core import image_options
    from app.core.capabilities import Family

    known = conn.profile.family(deployment)
    if known in image_options.IMAGE_FAMILIES:
        return known
    gpt_words = (
        args.background is not None
        or args.compression is not None
        or args.n > 1
        or args.quality in image_options.GPT_QUALITIES
        or args.size in ("1536x1024", "1024x1536", "auto")
        or _file_format(args) != "png"
    )
    return image_options.resolve_family(Family.GPT_IMAGE if gpt_words else None, deployment, edit=edit)


def _file_format(args: argparse.Namespace) -> str:
    if args.file_format:
        return str(args.file_format)
    return FORMATS.get(Path(args.output).suffix.lower(), "png")


def _request(args: argparse.Namespace, conn: Connection, prompt: str, edit: bool) -> Any:
    from app.core.capabilities import Family
    from app.core.image_options import ImageRequest

    check_writable(args.output)  # before the image is paid for
    deployment = deployment_for(args, conn, "images")
    family = _family(args, conn, deployment, edit)
    fmt = _file_format(args)
    if family is Family.DALLE and fmt != "png":
        raise UsageError(
            f"DALL-E 3 answers with PNG images, not {fmt}: name the output .png (or drop --format)."
        )
    return ImageRequest(
        deployment,
        prompt,
        size=args.size,
        quality=args.quality,
        style=args.style,
        response_format=args.response_format,
        family=family,
        background=args.background,
        output_format=fmt if family is Family.GPT_IMAGE else None,
        output_compression=args.compression,
        n=args.n,
    )


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from None


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import image_edits, images

    words = list(args.words)
    edit = words[0] == "edit" and len(words) > 1
    if edit and len(words) != 3:
        raise UsageError("Usage: parley image edit INPUT PROMPT -m DEPLOYMENT [--mask MASK.png] -o FILE")
    if not edit and len(words) != 1:
        raise UsageError("Give the prompt as one argument (quote it), or `edit INPUT PROMPT`.")
    if args.mask and not edit:
        raise UsageError("--mask goes with `parley image edit INPUT PROMPT`.")
    prompt = read_text(words[-1], "prompt")
    request = _request(args, conn, prompt, edit)
    client = conn.client()
    ctx = context_for(conn, "images", request.deployment)
    retries = max_retries(args, conn)
    if edit:
        source = _read(words[1], "image")
        mask = _read(args.mask, "mask") if args.mask else None
        job = image_edits.EditRequest(request, source, Path(words[1]).name, mask)
        gen = image_edits.edit(client, job, cancel=cancel, ctx=ctx, max_retries=retries)
    else:
        gen = images.generate(client, request, cancel=cancel, ctx=ctx, max_retries=retries)
    out = Path(args.output)
    for event in worker_events(lambda: gen, cancel):
        if isinstance(event, images.GeneratedImage):
            _save(event, out, args.json)
            continue
        code = _other(event, args.json)
        if code is not None:
            return code
    return EXIT_OK


def _other(event: Any, json_mode: bool) -> int | None:
    from app.core import events as ev

    if isinstance(event, ev.Retrying):
        err(retry_words(event))
    elif isinstance(event, ev.Failed):
        return report(event.problem, json_mode=json_mode)
    elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
        err("Stopped.")
        return EXIT_INTERRUPTED
    return None


def _save(image: Any, out: Path, json_mode: bool) -> None:
    target = out if image.index == 0 else out.with_name(f"{out.stem}-{image.index + 1}{out.suffix}")
    write_file(target, image.data)  # whole or not at all
    if image.revised_prompt:
        err(f"Revised prompt: {image.revised_prompt}")
    w, h = image.size
    kind = image.format.upper()
    err(f"Saved a {w}×{h} {kind} image to {target}.")
    if image.usage is not None and image.index == 0:
        err(f"Image {image.usage.words()[0].lower()}{image.usage.words()[1:]}.")
    if json_mode:
        json_line(
            {
                "type": "image",
                "path": str(target),
                "width": w,
                "height": h,
                "format": image.format,
                "revised_prompt": image.revised_prompt,
                "request_id": image.request_id,
                "usage": None if image.usage is None else image.usage.to_json(),
            }
        )
