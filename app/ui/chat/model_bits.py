"""What the chat knows about the model behind its deployment: the family's traits and reasoning effort (header),
settings it does not take (said once), what Azure taught (kept in the profile, on a job), prices and costs."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Slot

from app.core.capabilities import ChatTraits
from app.core.events import Learned, Notice
from app.ui.chat import prices
from app.ui.chat.header import ConversationHeader
from app.ui.chat.turns import TurnRunner
from app.ui.chat.view import ChatView
from app.ui.common import prefs
from app.ui.common.problem_card import Card
from app.ui.common.services import AppServices
from app.ui.common.workers import JobGroup, JobResult

log = logging.getLogger(__name__)


def _remember(profile_name: str, learned: Learned, *, cancel: Any) -> bool:
    from app.core.profiles import ProfileStore

    return ProfileStore.load().remember(profile_name, learned.deployment, learned.family, learned.model)


class ModelBits(QObject):
    def __init__(
        self,
        services: AppServices,
        header: ConversationHeader,
        turns: TurnRunner,
        view: ChatView,
        notice: Card,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.services, self.header, self.turns, self.view, self.notice = services, header, turns, view, notice
        self._jobs = JobGroup(self, "chat-profile")
        self._said: set[tuple[str, str]] = set()  # (deployment, setting) notices shown this session
        self.prices = prices.load(services.pref(prefs.CHAT_PRICES))
        turns.price_for = self.price_for
        turns.notice.connect(self._on_notice)
        turns.learned.connect(self._on_learned)
        turns.ended.connect(self._update_cost)
        header.effort_chosen.connect(self._on_effort)
        header.prices_requested.connect(self.edit_prices)
        header.deployment.currentTextChanged.connect(self.refresh)

    # -- traits and reasoning effort ----------------------------------------------------------------------------
    def traits(self, deployment: str) -> ChatTraits | None:
        connection = self.services.connection
        return connection.profile.chat_traits(deployment) if connection is not None and deployment else None

    def turn_options(self, deployment: str) -> dict[str, Any]:
        """The Turn's `traits` and `reasoning_effort` for `deployment`."""
        return {"traits": self.traits(deployment), "reasoning_effort": self.header.chosen_effort()}

    @Slot()
    def refresh(self, *_args: Any) -> None:
        """The deployment (or what is known of it) changed: offer its efforts and show the chat's cost."""
        deployment = self.header.deployment.currentText().strip()
        traits = self.traits(deployment)
        efforts = traits.efforts if traits is not None else ()
        self.header.set_efforts(efforts, str(self.services.pref(prefs.CHAT_REASONING_EFFORT) or ""))
        self._update_cost()

    @Slot(str)
    def _on_effort(self, value: str) -> None:
        self.services.set_pref(prefs.CHAT_REASONING_EFFORT, value)

    # -- notices and what was learned -----------------------------------------------------------------------------
    @Slot(object)
    def _on_notice(self, notice: Notice) -> None:
        deployment = self.turns.turn.deployment if self.turns.turn is not None else ""
        key = (deployment, notice.setting or notice.text)
        if key in self._said:
            return
        self._said.add(key)
        where = "the chat header" if notice.setting == "reasoning_effort" else "Settings"
        self.notice.show_message("info", "A setting was not sent", f"{notice.text} (It lives in {where}.)")

    @Slot(object)
    def _on_learned(self, learned: Learned) -> None:
        connection = self.services.connection
        if connection is None:
            return
        changed = connection.profile.learned(learned.deployment, learned.family, learned.model)
        if changed is None:
            return
        connection.profile = changed  # this session shapes its next requests by it at once
        log.info(
            "deployment learned",
            extra={
                "event": "chat.learned",
                "deployment": learned.deployment,
                "family": str(learned.family or ""),
                "model": learned.model or "",
            },
        )
        self.refresh()
        if connection.source in ("profile", "store"):  # env and demo profiles are not stored
            self._jobs.start(
                partial(_remember, changed.name, learned),
                self._on_remembered,
                name="remember-deployment",
            )

    @Slot(object)
    def _on_remembered(self, result: JobResult) -> None:
        if result.problem is not None:
            log.warning("could not keep what was learned: %s", result.problem.one_line())
        elif result.value:
            self.services.profiles_changed.emit()

    # -- prices -------------------------------------------------------------------------------------------------------
    def price_for(self, deployment: str) -> prices.Price | None:
        return self.prices.get(deployment)

    @Slot()
    def edit_prices(self) -> prices.PriceDialog:
        deployment = self.header.deployment.currentText().strip()
        dialog = prices.PriceDialog(self.prices, [deployment] if deployment else [], self.header.window())
        dialog.accepted.connect(lambda: self.set_prices(dialog.prices()))
        dialog.open()
        return dialog

    def set_prices(self, table: dict[str, prices.Price]) -> None:
        self.prices = table
        self.services.set_pref(prefs.CHAT_PRICES, prices.dump(table))
        self.reprice()

    def reprice(self) -> None:
        """The token lines on screen (e.g. just read from history) with their cost, and the chat's total."""
        price = self.price_for(self._deployment())
        for widget in self.view.widgets:
            if widget.usage_value is not None:
                widget.set_usage(widget.usage_value, price)
        self._update_cost()

    def _deployment(self) -> str:
        return self.header.deployment.currentText().strip()

    @Slot()
    def _update_cost(self, *_args: Any) -> None:
        """The conversation's cost: every answer shown, at its deployment's price (when one is set)."""
        price = self.price_for(self._deployment())
        usages = [w.usage_value for w in self.view.widgets if w.usage_value is not None]
        if price is None or not usages:
            self.header.set_cost("")
            return
        total = sum(price.cost(u) for u in usages)
        self.header.set_cost(f"This chat: {prices.money(total)}")
        self.header.cost.setToolTip(f"{len(usages)} answers at your prices for {self._deployment()}")

    def shutdown(self) -> None:
        self._jobs.close()
