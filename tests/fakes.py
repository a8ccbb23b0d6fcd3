"""Hand-written fakes at our own seams (the connector contract)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from goodwill.config import Config
from goodwill.models import OutgoingPost, Receipt


@dataclass
class FakeNetwork:
    """Records what each channel published; failures are scripted per channel, in order."""

    sent: list[OutgoingPost] = field(default_factory=list)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    broken_channels: dict[str, BaseException] = field(default_factory=dict)
    before_send: Callable[[OutgoingPost], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, channel: str, *errors: BaseException) -> FakeNetwork:
        self.failures.setdefault(channel, []).extend(errors)
        return self

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

    def limit(self) -> int:
        return 500

    def publish(self, post: OutgoingPost) -> Receipt:
        if self.net.before_send:
            self.net.before_send(post)
        with self.net.lock:
            queue = self.net.failures.get(self.channel)
            if queue:
                raise queue.pop(0)
            self.net.sent.append(post)
            return Receipt(
                remote_id=f"fake-{post.post_id}", url=f"https://fake.example/{post.post_id}"
            )

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        with self.net.lock:
            for sent in self.net.sent:
                if sent.post_id == post.post_id:
                    return Receipt(remote_id=f"fake-{post.post_id}")
        return None
