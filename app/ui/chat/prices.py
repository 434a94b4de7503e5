"""Token lines and costs: the user's price table per deployment (per 1M tokens, typed in, nothing fetched) and the
words under an answer ("1,200 tokens in (1,024 cached) · 640 reasoning · 88 out · $0.0016")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.events import Usage

PER = 1_000_000  # prices are per 1M tokens, as Azure's pricing page gives them
COLUMNS = ("Deployment", "Input $/1M", "Cached input $/1M", "Output $/1M")


@dataclass(frozen=True)
class Price:
    input: float = 0.0
    cached: float | None = None  # None: cached input costs what input costs
    output: float = 0.0

    def cost(self, usage: Usage) -> float:
        """Cached input at its price, the rest of the prompt at the input price, and every completion token
        (reasoning included: Azure bills them as output) at the output price."""
        cached = min(usage.cached_tokens, usage.prompt_tokens)
        cached_price = self.input if self.cached is None else self.cached
        return (
            (usage.prompt_tokens - cached) * self.input
            + cached * cached_price
            + usage.completion_tokens * self.output
        ) / PER

    def to_json(self) -> dict[str, float]:
        out = {"input": self.input, "output": self.output}
        if self.cached is not None:
            out["cached"] = self.cached
        return out


def load(raw: str | None) -> dict[str, Price]:
    """The Pref row's JSON as prices; anything unreadable is left out (a hand-edited file must not break chat)."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    prices: dict[str, Price] = {}
    if not isinstance(data, dict):
        return prices
    for name, row in data.items():
        if not isinstance(row, dict):
            continue
        try:
            cached = row.get("cached")
            prices[str(name)] = Price(
                float(row.get("input") or 0),
                None if cached in (None, "") else float(cached),
                float(row.get("output") or 0),
            )
        except (TypeError, ValueError):
            continue
    return prices


def dump(prices: dict[str, Price]) -> str:
    return json.dumps({name: p.to_json() for name, p in sorted(prices.items())})


def money(amount: float) -> str:
    """Small amounts keep enough digits to differ ($0.00042), larger ones two decimals."""
    if amount >= 1:
        return f"${amount:,.2f}"
    if amount >= 0.01:
        return f"${amount:.3f}"
    return f"${amount:.5f}".rstrip("0").rstrip(".") if amount else "$0"


def usage_of(value: Any) -> Usage | None:
    """A `Usage`, an openai usage object or history's stored dict, as a `Usage`."""
    if isinstance(value, Usage):
        return value
    return Usage.from_obj(value) if value else None


def token_line(usage: Usage, price: Price | None = None) -> str:
    """What Azure counted for one answer, in the words the answer shows under it."""
    prompt = f"{usage.prompt_tokens:,} tokens in"
    if usage.cached_tokens:
        prompt += f" ({usage.cached_tokens:,} cached)"
    parts = [prompt]
    if usage.reasoning_tokens:
        parts.append(f"{usage.reasoning_tokens:,} reasoning")
    parts.append(f"{usage.output_tokens:,} out")
    if price is not None:
        parts.append(money(price.cost(usage)))
    return " · ".join(parts)


def token_tooltip(usage: Usage, price: Price | None) -> str:
    text = (
        "Tokens Azure counted for this answer: input (of which served from Azure's prompt cache), the model's "
        "hidden reasoning, and the visible answer."
    )
    if price is None:
        text += " Add this deployment's prices (chat header, Prices…) to see what it cost."
    return text


class PriceDialog(QDialog):
    """The price table: one row per deployment, typed by the user from their Azure price sheet."""

    def __init__(self, prices: dict[str, Price], deployments: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Token prices")
        self.setAccessibleName("Token prices")
        note = QLabel(
            "Prices per 1 million tokens, in your currency, from your Azure price sheet. Parley fetches nothing; "
            "blank cached input costs what input costs."
        )
        note.setWordWrap(True)
        names = list(dict.fromkeys([*deployments, *prices]))
        self.table = QTableWidget(len(names), len(COLUMNS))
        self.table.setAccessibleName("Prices per deployment")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for row, name in enumerate(names):
            price = prices.get(name)
            self._set_row(row, name, price)
        add = QPushButton("&Add row")
        add.clicked.connect(self.add_row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(add, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(buttons)
        self.resize(620, 300)

    def _set_row(self, row: int, name: str, price: Price | None) -> None:
        values = (
            name,
            "" if price is None else f"{price.input:g}",
            "" if price is None or price.cached is None else f"{price.cached:g}",
            "" if price is None else f"{price.output:g}",
        )
        for column, value in enumerate(values):
            self.table.setItem(row, column, QTableWidgetItem(value))

    def add_row(self) -> None:
        self.table.insertRow(self.table.rowCount())
        self._set_row(self.table.rowCount() - 1, "", None)

    def prices(self) -> dict[str, Price]:
        """The rows with a deployment and at least one price; unreadable numbers count as blank."""
        out: dict[str, Price] = {}
        for row in range(self.table.rowCount()):
            cells = [_cell(self.table.item(row, c)) for c in range(len(COLUMNS))]
            name, numbers = cells[0], [_number(c) for c in cells[1:]]
            if not name or all(n is None for n in numbers):
                continue
            out[name] = Price(numbers[0] or 0.0, numbers[1], numbers[2] or 0.0)
        return out


def _cell(item: QTableWidgetItem | None) -> str:
    return item.text().strip() if item is not None else ""


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".").lstrip("$"))
    except ValueError:
        return None
    return value if value >= 0 else None
