"""``PublisherContract``: what every publisher must do, checked against the plugin's own fake platform.

Subclass it in a test module (the class name must start with ``Test``) and provide:

- a ``publisher`` fixture: the publisher instance, configured to talk to the fake (its base URL an option);
- an ``account`` fixture: an ``AccountHandle`` the fake accepts;
- a ``fake`` fixture: the running fake server (a ``clipcast.testing.FakeServer``);
- a ``video`` fixture: a short vertical MP4 the platform accepts (``clipcast.testing.vertical_video`` makes one);
- ``posts_on_platform(fake) -> int``: how many posts the fake holds (the contract checks nothing doubles);
- ``first_request``: the (method, path regex) of the first request ``publish`` sends, where the 429 is injected.

The suite: preflight accepts a good request and reports an unusable one; ``publish`` makes exactly one post and
returns its remote id; ``check_status`` reaches ``published``; ``recover`` after a crash finds the post (or
returns None only when nothing reached the platform); a refused token is a permanent error with nothing
posted; a 429 either succeeds after the client's retry or fails retryable, and never posts twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from clipcast import (
    AccountHandle,
    ClipcastError,
    PermanentError,
    PostStatus,
    Publisher,
    PublishRequest,
    PublishResult,
    RetryableError,
)


class PublisherContract:
    #: (method, path regex) of the first request ``publish`` sends (the 429 goes there).
    first_request: ClassVar[tuple[str, str]]
    #: How many ``check_status`` calls may pass before the fake reports the post published.
    status_polls: ClassVar[int] = 10

    def posts_on_platform(self, fake: Any) -> int:
        raise NotImplementedError("return how many posts the fake platform holds")

    def make_request(self, video: Path, **extra: Any) -> PublishRequest:
        """The request the suite publishes; override to add options your platform needs."""
        return PublishRequest(
            video_path=video, title="Contract clip", caption="Made by the contract suite", duration=2.0, **extra
        )

    # --------------------------------------------------------------------------------------------- the suite

    def test_is_a_publisher_with_options(self, publisher: Publisher) -> None:
        assert isinstance(publisher, Publisher) and publisher.name
        assert publisher.Options.model_config.get("extra") == "forbid", "Options should forbid unknown keys"

    def test_preflight_accepts_a_good_request(self, publisher: Publisher, account: Any, video: Path) -> None:
        assert publisher.preflight(self.make_request(video), account) == []

    def test_preflight_reports_a_missing_video(self, publisher: Publisher, account: Any, tmp_path: Path) -> None:
        problems = publisher.preflight(self.make_request(tmp_path / "gone.mp4"), account)
        assert problems and all(isinstance(p, str) and p for p in problems)

    def test_publish_once_then_status_reaches_published(
        self, publisher: Publisher, account: Any, video: Path, fake: Any
    ) -> None:
        checkpoints: list[dict[str, Any]] = []
        result = publisher.publish(self.make_request(video, checkpoint=checkpoints.append), account)
        assert isinstance(result, PublishResult) and result.remote_id, "publish must return the remote id"
        assert result.status in (PostStatus.PROCESSING, PostStatus.PUBLISHED), result
        assert self.posts_on_platform(fake) == 1
        for _ in range(self.status_polls):
            status = publisher.check_status(result.remote_id, account)
            assert status.status not in (PostStatus.FAILED, PostStatus.CANCELLED), status
            if status.status == PostStatus.PUBLISHED:
                break
        assert status.status == PostStatus.PUBLISHED, f"still {status.status} after {self.status_polls} checks"
        assert self.posts_on_platform(fake) == 1

    def test_recover_after_a_crash_never_posts_twice(
        self, publisher: Publisher, account: Any, video: Path, fake: Any
    ) -> None:
        """The worker died after ``publish`` did its work but before the remote id was saved: ``recover`` with
        the checkpoints it left must find the post; None would make the core post a second time."""
        fresh = self.make_request(video)
        assert publisher.recover(fresh, account) is None, "nothing was sent yet: recover must say so with None"
        saved: dict[str, Any] = {}
        done = publisher.publish(self.make_request(video, checkpoint=saved.update), account)
        saved.pop("remote_id", None)  # the crash: the id never reached the database
        found = publisher.recover(self.make_request(video, resume=saved), account)
        assert found is not None, "recover returned None, but the post exists: the core would post it again"
        assert found.remote_id == done.remote_id
        assert self.posts_on_platform(fake) == 1

    def test_a_refused_token_is_permanent_and_posts_nothing(
        self, publisher: Publisher, account: Any, video: Path, fake: Any
    ) -> None:
        refused = AccountHandle(
            getattr(account, "id", None), publisher.name, remote_id=getattr(account, "remote_id", ""),
            token={"access_token": "refused-by-the-platform"},
        )  # fmt: skip
        with pytest.raises(PermanentError):
            publisher.publish(self.make_request(video), refused)
        assert self.posts_on_platform(fake) == 0

    def test_a_429_is_retried_or_retryable_and_never_doubles(
        self, publisher: Publisher, account: Any, video: Path, fake: Any
    ) -> None:
        method, path = self.first_request
        fake.fail(method, path, 429, body={"error": "rate limited"}, headers={"Retry-After": "0"})
        try:
            result = publisher.publish(self.make_request(video), account)
        except ClipcastError as exc:
            assert isinstance(exc, RetryableError) or getattr(exc, "retryable", False), f"not retryable: {exc!r}"
            assert self.posts_on_platform(fake) == 0
        else:
            assert result.remote_id and self.posts_on_platform(fake) == 1
        assert fake.count(method, path) >= 1, f"publish never sent {method} {path}: fix first_request"
