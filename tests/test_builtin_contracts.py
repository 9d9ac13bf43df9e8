"""The built-in backends pass the public contract suites of ``clipcast.testing`` (what third-party plugins run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_storage
from fakes.publish_env import make_app
from fakes.youtube_server import YouTubeFake

from clipcast import AccountHandle, Storage
from clipcast.testing import (
    PublisherContract,
    SelectorContract,
    SpeechToTextContract,
    StorageContract,
    vertical_video,
)
from plugins.llm.heuristic import HeuristicSelector
from plugins.storage.local import LocalStorage
from plugins.storage.s3 import S3Storage
from plugins.stt.faster_whisper import FasterWhisper

# moto's S3 server and an admin client, shared with tests/test_storage.py
moto_endpoint = test_storage.moto_endpoint
admin = test_storage.admin


class TestLocalStorageContract(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Storage:
        return LocalStorage(LocalStorage.Options(root=tmp_path / "store"))

    def assert_nothing_left(self, storage: Storage) -> None:
        super().assert_nothing_left(storage)
        assert [p for p in storage.root.rglob("*") if p.is_file()] == []  # type: ignore[attr-defined]


class TestS3StorageContract(StorageContract):
    """Against moto's S3 server over real HTTP (the fixtures of tests/test_storage.py)."""

    stream_bytes = 11 * 1024 * 1024  # three 5 MB parts: multipart, as a real upload

    @pytest.fixture
    def storage(self, moto_endpoint: str, admin: Any) -> Storage:
        options = test_storage.remote_options(moto_endpoint, test_storage.new_bucket(admin), region="us-east-1")
        self.admin = admin
        return S3Storage(S3Storage.Options(**options))

    def assert_nothing_left(self, storage: Storage) -> None:
        super().assert_nothing_left(storage)
        bucket = storage.bucket  # type: ignore[attr-defined]
        assert self.admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


class TestFasterWhisperContract(SpeechToTextContract):
    @pytest.fixture
    def stt(self) -> FasterWhisper:
        return FasterWhisper()


class TestHeuristicSelectorContract(SelectorContract):
    @pytest.fixture
    def selector(self) -> HeuristicSelector:
        return HeuristicSelector()


class TestYouTubePublisherContract(PublisherContract):
    first_request = ("POST", "/upload/youtube/v3/videos")

    @pytest.fixture
    def fake(self) -> Iterator[YouTubeFake]:
        with YouTubeFake() as fake:
            yield fake

    @pytest.fixture
    def video(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return vertical_video(tmp_path_factory.getbasetemp() / "contract-vertical.mp4")

    @pytest.fixture
    def publisher(self, tmp_path: Path, fake: YouTubeFake) -> Any:
        return make_app(tmp_path, {"youtube": fake.options()}).publisher("youtube")

    @pytest.fixture
    def account(self, fake: YouTubeFake) -> AccountHandle:
        return AccountHandle(None, "youtube", remote_id="UC-fake-channel", token=fake.issue())

    def posts_on_platform(self, fake: YouTubeFake) -> int:
        return len(fake.videos)
