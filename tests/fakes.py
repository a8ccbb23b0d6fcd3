"""Hand-written fakes at our own seams (the connector contract)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from goodwill.config import Config
from goodwill.models import OutgoingPost, Receipt


@dataclass
class FakeNetwork:
    """Records what each channel published; failures are scripted per channel, in order.

    Like a real network it may honour idempotency keys (``idempotency_window``: a repeat of a
    key is answered with the first post, not posted again), may accept a post and still fail
    the answer (``accept_then_fail``), and may be slow to show a post in lookups (``hidden``).
    """

    sent: list[OutgoingPost] = field(default_factory=list)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    broken_channels: dict[str, BaseException] = field(default_factory=dict)
    before_send: Callable[[OutgoingPost], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    idempotency_window: timedelta | None = None
    lookup_is_authoritative: bool = False
    after_accept: dict[str, list[BaseException]] = field(default_factory=dict)
    lookup_failures: list[BaseException] = field(default_factory=list)
    hidden: set[int] = field(default_factory=set)  # post ids lookups do not (yet) show
    lookups: int = 0
    during_lookup: Callable[[OutgoingPost], None] | None = None  # what happens meanwhile

    def fail_next(self, channel: str, *errors: BaseException) -> FakeNetwork:
        self.failures.setdefault(channel, []).extend(errors)
        return self

    def accept_then_fail(self, channel: str, *errors: BaseException) -> FakeNetwork:
        """The next posts are stored, then the answer fails (a 502 after accepting)."""
        self.after_accept.setdefault(channel, []).extend(errors)
        return self

    def post_ids(self) -> list[int]:
        return [p.post_id for p in self.sent]

    def break_channel(self, channel: str, error: BaseException) -> FakeNetwork:
        self.broken_channels[channel] = error
        return self

    def factory(self, channel: Any, config: Config) -> FakeConnector:
        if channel.name in self.broken_channels:
            raise self.broken_channels[channel.name]
        return FakeConnector(self, channel.name)

    def texts(self, channel: str | None = None) -> list[str]:
        return [p.text for p in self.sent if channel is None or p.channel == channel]

    def kinds(self, channel: str) -> list[str]:
        return [str(p.kind) for p in self.sent if p.channel == channel]


class FakeConnector:
    network: ClassVar[str] = "fake"

    def __init__(self, net: FakeNetwork, channel: str) -> None:
        self.net = net
        self.channel = channel
        self.idempotency_window = net.idempotency_window
        self.lookup_is_authoritative = net.lookup_is_authoritative

    def limit(self) -> int:
        return 500

    def publish(self, post: OutgoingPost) -> Receipt:
        if self.net.before_send:
            self.net.before_send(post)
        with self.net.lock:
            queue = self.net.failures.get(self.channel)
            if queue:
                raise queue.pop(0)
            receipt = Receipt(
                remote_id=f"fake-{post.post_id}", url=f"https://fake.example/{post.post_id}"
            )
            if self.net.idempotency_window is not None and any(
                s.idempotency_key == post.idempotency_key for s in self.net.sent
            ):
                return receipt  # a repeat of the key: the first post's answer, nothing new
            self.net.sent.append(post)
            after = self.net.after_accept.get(self.channel)
            if after:
                raise after.pop(0)
            return receipt

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        if self.net.during_lookup:
            self.net.during_lookup(post)
        with self.net.lock:
            self.net.lookups += 1
            if self.net.lookup_failures:
                raise self.net.lookup_failures.pop(0)
            for sent in self.net.sent:
                if sent.post_id == post.post_id and sent.post_id not in self.net.hidden:
                    return Receipt(remote_id=f"fake-{post.post_id}")
        return None
