"""The Mastodon publisher passes Clipcast's PublisherContract against the local Mastodon fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clipcast_mastodon import Mastodon
from mastodon_fake import MastodonFake

from clipcast import AccountHandle, PublishRequest, RetryableError
from clipcast.testing import PublisherContract, loopback_settings, vertical_video


@pytest.fixture
def fake() -> Iterator[MastodonFake]:
    with MastodonFake(processing_checks=2) as server:
        yield server


def make_publisher(fake: MastodonFake, **options: object) -> Mastodon:
    publisher = Mastodon(Mastodon.Options(instance=fake.url, poll_seconds=0.01, backoff_seconds=0.01, **options))
    publisher.bind(loopback_settings())  # the fake listens on loopback, which the egress guard refuses
    return publisher


@pytest.fixture
def account() -> AccountHandle:
    return AccountHandle(None, "mastodon", remote_id="1", token={"access_token": "token-of-clipper"})


@pytest.fixture
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vertical_video(tmp_path_factory.getbasetemp() / "mastodon-clip.mp4")


class TestMastodonContract(PublisherContract):
    first_request = ("POST", "/api/v2/media")

    @pytest.fixture
    def publisher(self, fake: MastodonFake) -> Mastodon:
        return make_publisher(fake)

    def posts_on_platform(self, fake: MastodonFake) -> int:
        return len(fake.statuses)


def test_the_status_carries_caption_hashtags_and_the_processed_video(fake, account, video) -> None:
    request = PublishRequest(video_path=video, title="T", caption="Watch this", hashtags=["clips", "#demo"])
    result = make_publisher(fake, visibility="unlisted").publish(request, account)
    status = fake.statuses[result.remote_id]
    assert status["content"] == "Watch this\n\n#clips #demo" and status["visibility"] == "unlisted"
    assert status["media_attachments"][0]["url"] and result.url == status["url"]
    assert fake.count("GET", r"/api/v1/media/\d+") == 2  # 206 once, then 200


def test_a_retry_after_a_crash_reuses_the_media_and_the_key(fake, account, video) -> None:
    saved: dict = {}
    publisher = make_publisher(fake)
    first = publisher.publish(PublishRequest(video_path=video, caption="x", checkpoint=saved.update), account)
    again = publisher.publish(PublishRequest(video_path=video, caption="x", resume=saved), account)
    assert again.remote_id == first.remote_id and len(fake.statuses) == 1 and len(fake.media) == 1


def test_slow_processing_is_retryable_and_keeps_the_media_id(account, video) -> None:
    with MastodonFake(processing_checks=10_000) as fake:
        saved: dict = {}
        with pytest.raises(RetryableError, match="still processing"):
            make_publisher(fake, processing_timeout=0.05).publish(
                PublishRequest(video_path=video, caption="x", checkpoint=saved.update), account
            )
        assert saved["media_id"] in fake.media and fake.statuses == {}


def test_preflight_checks_the_instance_limits(fake, account, video) -> None:
    publisher = make_publisher(fake, max_characters=20, max_video_mb=0.001)
    problems = publisher.preflight(PublishRequest(video_path=video, caption="a caption that is too long"), account)
    assert len(problems) == 2


def test_connect_reads_the_account(fake) -> None:
    info = make_publisher(fake).connect_account({"access_token": "token-of-clipper"})
    assert info["remote_id"] == "1" and info["name"] == "@clipper"
