"""Storage backends: the same behaviour from local, s3 and r2, the last two against moto's S3 server over real HTTP.
The generic contract (keys, listing, streams) is also run by tests/test_builtin_contracts.py.

Also checks the deployment files (docker cannot run here): docker-compose.yml parses and wires every service.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from clipcast.testing import PatternStream
from clipcast.testing.storage import sha_of
from core.app import Clipcast
from core.config import effective_config, load_settings, secret_values
from core.errors import ConfigError, StorageError
from core.plugins import get_manager
from plugins.storage.local import LocalStorage
from plugins.storage.s3 import R2Storage, S3Storage

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
KEY_ID, SECRET = "AKIDTESTCLIPCAST", "moto-secret-value-123"


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, a random free port: real HTTP, real SigV4 requests."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def admin(moto_endpoint: str) -> Any:
    """A plain boto3 client to set up buckets and look behind the backend's back."""
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


def new_bucket(admin: Any) -> str:
    name = f"clipcast-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=name)
    return name


def remote_options(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    # Parts of 5 MB (S3's minimum) above 5 MB: a 12 MB stream goes up in three parts.
    return {
        "bucket": bucket,
        "endpoint_url": endpoint,
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "prefix": "tenant/a",
        "multipart_threshold_mb": 5,
        "multipart_chunk_mb": 5,
        "max_concurrency": 2,
        **extra,
    }


def make_storage(kind: str, tmp_path: Path, endpoint: str | None, admin: Any, **extra: Any) -> Any:
    if kind == "local":
        return LocalStorage(LocalStorage.Options(root=tmp_path / "store", **extra))
    cls = S3Storage if kind == "s3" else R2Storage
    opts = remote_options(endpoint, new_bucket(admin), **extra)  # type: ignore[arg-type]
    if kind == "s3":
        opts["region"] = "us-east-1"
    return cls(cls.Options(**opts))


@pytest.fixture(params=["local", "s3", "r2"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return make_storage("local", tmp_path, None, None)
    endpoint = request.getfixturevalue("moto_endpoint")
    return make_storage(request.param, tmp_path, endpoint, request.getfixturevalue("admin"))


# -------------------------------------------------------------------------------- behaviour, all backends


def test_builtin_backends_registered() -> None:
    assert {"local", "s3", "r2"} <= set(get_manager().backends("storage"))


def test_large_stream_round_trip(storage: Any, admin: Any) -> None:
    size = 12 * MB + 12345
    stream = PatternStream(size)
    assert storage.put_stream("videos/ab/big.mp4", stream, "video/mp4") == size
    assert storage.size("videos/ab/big.mp4") == size
    with storage.open("videos/ab/big.mp4") as f:
        assert sha_of(f) == stream.sha.hexdigest()
    if storage.name != "local":
        # A multipart upload of three 5 MB-or-less parts, never more than one part per read.
        etag = admin.head_object(Bucket=storage.bucket, Key="tenant/a/videos/ab/big.mp4")["ETag"]
        assert etag.strip('"').endswith("-3"), etag
        assert stream.largest_read <= 5 * MB
        head = admin.head_object(Bucket=storage.bucket, Key="tenant/a/videos/ab/big.mp4")
        assert head["ContentType"] == "video/mp4"


def test_put_file_download_and_seek(storage: Any, tmp_path: Path, admin: Any) -> None:
    src = tmp_path / "src.bin"
    payload = bytes(range(256)) * 24000  # 6.1 MB: two parts on S3
    src.write_bytes(payload)
    storage.put_file("renders/1/clip.srt", src, "text/plain")
    if storage.name != "local":
        head = admin.head_object(Bucket=storage.bucket, Key="tenant/a/renders/1/clip.srt")
        assert head["ETag"].strip('"').endswith("-2") and head["ContentType"] == "text/plain"
    dest = storage.download("renders/1/clip.srt", tmp_path / "out" / "copy.bin")
    assert dest.read_bytes() == payload
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".part-")]
    with storage.open("renders/1/clip.srt") as f:
        assert f.read(10) == payload[:10]
        f.seek(200_000)
        assert f.read(5) == payload[200_000:200_005]
        f.seek(-3, io.SEEK_END)
        assert f.read() == payload[-3:]
    with pytest.raises(StorageError, match=r"missing\.bin"):
        storage.download("renders/1/missing.bin", tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


def test_list_paginates(storage: Any) -> None:
    keys = [f"many/{i:02d}.txt" for i in range(7)]
    for key in keys:
        storage.put_stream(key, io.BytesIO(b"x"))
    storage.list_page_size = 2  # four ListObjectsV2 pages; the local backend ignores it
    assert list(storage.list("many/")) == keys


def test_failed_stream_leaves_nothing(storage: Any, admin: Any) -> None:
    """An upload that dies half-way (client gone) leaves no object and no half-written file visible."""
    seen_during: list[bool] = []
    stream = PatternStream(12 * MB, fail_after=7 * MB)
    stream.on_read = lambda: seen_during.append(storage.exists("up/partial.bin"))
    with pytest.raises(OSError, match="client disconnected"):
        storage.put_stream("up/partial.bin", stream)
    assert not any(seen_during)
    assert not storage.exists("up/partial.bin")
    assert list(storage.list()) == []
    if storage.name == "local":
        assert [p.name for p in storage.root.rglob("*") if p.is_file()] == []
    else:
        assert admin.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", []) == []


def test_local_storage_adopts_a_temporary_file_by_renaming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    store = LocalStorage(LocalStorage.Options(root=tmp_path / "store"))
    (tmp_path / "upload.mp4").write_bytes(b"v" * 1000)
    inode = (tmp_path / "upload.mp4").stat().st_ino
    store.adopt_file("videos/ab.mp4", tmp_path / "upload.mp4")
    assert not (tmp_path / "upload.mp4").exists()  # taken, not copied
    assert store.local_path("videos/ab.mp4").stat().st_ino == inode

    real = os.replace
    elsewhere = tmp_path / "audio.wav"

    def other_file_system(src: os.PathLike, dest: os.PathLike) -> None:  # only the adopted file is elsewhere
        if Path(src) == elsewhere:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dest)

    monkeypatch.setattr(os, "replace", other_file_system)
    elsewhere.write_bytes(b"a" * 1000)
    store.adopt_file("audio/ab.wav", elsewhere)
    with store.open("audio/ab.wav") as f:
        assert f.read() == b"a" * 1000  # copied instead; the core deletes its file afterwards


# ------------------------------------------------------------------------------------------------- URLs


def test_local_url_needs_public_base(tmp_path: Path) -> None:
    plain = make_storage("local", tmp_path, None, None)
    plain.put_stream("c/1.mp4", io.BytesIO(b"x"))
    assert plain.url("c/1.mp4") is None
    public = make_storage("local", tmp_path, None, None, public_base_url="https://cdn.example/files/")
    assert public.url("c/1.mp4") == "https://cdn.example/files/c/1.mp4"


@pytest.mark.parametrize("kind", ["s3", "r2"])
def test_presigned_url_serves_bytes(kind: str, tmp_path: Path, moto_endpoint: str, admin: Any) -> None:
    storage = make_storage(kind, tmp_path, moto_endpoint, admin)
    payload = b"clip bytes " * 1000
    storage.put_stream("clips/9/clip.mp4", io.BytesIO(payload), "video/mp4")
    url = storage.url("clips/9/clip.mp4", expires=600)
    assert url.startswith(moto_endpoint) and "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.content == payload
    # The default expiry comes from the options. (moto does not check signatures, so no tampering test here.)
    assert "X-Amz-Expires=3600" in storage.url("clips/9/clip.mp4")
    assert requests.get(storage.url("clips/9/other.mp4"), timeout=10).status_code == 404
    with pytest.raises(StorageError, match="expiry"):
        storage.url("clips/9/clip.mp4", expires=8 * 24 * 3600)


@pytest.mark.parametrize("kind", ["s3", "r2"])
def test_reader_refuses_an_object_replaced_mid_read(kind: str, tmp_path: Path, moto_endpoint: str, admin: Any) -> None:
    """After a seek the reader asks for a byte range of the same version (If-Match), never a mix of two."""
    storage = make_storage(kind, tmp_path, moto_endpoint, admin)
    storage.put_stream("v.bin", io.BytesIO(b"a" * 3 * MB))
    with storage.open("v.bin") as f:
        assert f.read(10) == b"a" * 10
        storage.put_stream("v.bin", io.BytesIO(b"b" * 3 * MB))
        f.seek(2 * MB)
        with pytest.raises(StorageError, match="changed while it was being read"):
            f.read(10)


def test_public_base_url_replaces_presigning(tmp_path: Path, moto_endpoint: str, admin: Any) -> None:
    storage = make_storage("r2", tmp_path, moto_endpoint, admin, public_base_url="https://media.example.com/")
    assert storage.url("clips/1/a.mp4") == "https://media.example.com/tenant/a/clips/1/a.mp4"


# ----------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", ["s3", "r2"])
def test_wrong_bucket_is_named(kind: str, moto_endpoint: str, tmp_path: Path) -> None:
    cls = S3Storage if kind == "s3" else R2Storage
    storage = cls(cls.Options(**remote_options(moto_endpoint, "no-such-bucket-here")))
    for call in (
        lambda: storage.exists("a.txt"),
        lambda: storage.put_stream("a.txt", io.BytesIO(b"x")),
        lambda: storage.open("a.txt"),
        lambda: list(storage.list()),
        lambda: storage.download("a.txt", tmp_path / "a.txt"),
    ):
        with pytest.raises(StorageError) as info:
            call()
        text = str(info.value)
        assert "'no-such-bucket-here' does not exist" in text and f"storage.{kind}.bucket" in text, text


def test_missing_credentials_say_what_to_set(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, admin: Any) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    opts = remote_options(moto_endpoint, new_bucket(admin), region="us-east-1")
    del opts["access_key_id"], opts["secret_access_key"]
    storage = S3Storage(S3Storage.Options(**opts))
    with pytest.raises(StorageError, match=r"no credentials found.*AWS_ACCESS_KEY_ID"):
        storage.put_stream("a.txt", io.BytesIO(b"x"))


def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, admin: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    opts = remote_options(moto_endpoint, new_bucket(admin), region="us-east-1")
    del opts["access_key_id"], opts["secret_access_key"]
    storage = S3Storage(S3Storage.Options(**opts))
    storage.put_stream("env.txt", io.BytesIO(b"from env"))
    assert storage.open("env.txt").read() == b"from env"


def test_option_validation() -> None:
    with pytest.raises(ValueError, match="both access_key_id and secret_access_key"):
        S3Storage.Options(bucket="b", access_key_id="only-one")
    with pytest.raises(ValueError, match="account_id"):
        R2Storage.Options(bucket="b")
    with pytest.raises(ValueError, match="prefix"):
        S3Storage.Options(bucket="b", prefix="../up")
    with pytest.raises(ValueError, match="multipart_chunk_mb"):
        S3Storage.Options(bucket="b", multipart_chunk_mb=1)
    assert S3Storage.Options(bucket="b", prefix="/x/y/").prefix == "x/y/"


# ----------------------------------------------------------------------------------------------- config


def write_config(tmp_path: Path, storage_yaml: str) -> Path:
    path = tmp_path / "clipcast.yaml"
    path.write_text(f"data_dir: {tmp_path / 'data'}\nstorage:\n{storage_yaml}", encoding="utf-8")
    return path


def test_config_selects_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, admin: Any) -> None:
    bucket = new_bucket(admin)
    monkeypatch.setenv("TEST_S3_SECRET", SECRET)
    path = write_config(
        tmp_path,
        f"  backend: s3\n  s3:\n    bucket: {bucket}\n    endpoint_url: {moto_endpoint}\n    region: us-east-1\n"
        f"    access_key_id: {KEY_ID}\n    secret_access_key: ${{TEST_S3_SECRET}}\n    prefix: prod\n",
    )
    settings = load_settings(path)
    app = Clipcast(settings)
    assert isinstance(app.storage, S3Storage) and app.storage.bucket == bucket
    app.storage.put_stream("videos/x/original.mp4", io.BytesIO(b"via config"))
    body = admin.get_object(Bucket=bucket, Key="prod/videos/x/original.mp4")["Body"].read()
    assert body == b"via config"
    # The secret is known to the log redactor and masked in `clipcast config check`.
    assert SECRET in secret_values(settings)
    assert SECRET not in repr(effective_config(settings))


def test_config_selects_r2_with_account_endpoint(tmp_path: Path) -> None:
    path = write_config(tmp_path, "  backend: r2\n  r2:\n    bucket: clips\n    account_id: 0123abcd\n")
    storage = Clipcast(load_settings(path), migrate=False).storage
    assert isinstance(storage, R2Storage)
    assert storage.client.meta.endpoint_url == "https://0123abcd.r2.cloudflarestorage.com"
    assert storage.client.meta.region_name == "auto"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  backend: s3\n", "storage.s3.bucket: field required"),
        ("  backend: s3\n  s3:\n    bucket: b\n    colour: red\n", "storage.s3.colour: unknown option"),
        ("  backend: r2\n  r2:\n    bucket: b\n", "set account_id"),
        ("  backend: s4\n", "storage.backend: unknown storage backend 's4'; available: "),
    ],
)
def test_config_errors(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write_config(tmp_path, section))
    assert message in str(info.value)
    if "s4" in section:
        listed = str(info.value).split("available: ")[1].split("\n")[0].split(", ")
        assert {"local", "r2", "s3"} <= set(listed)


# ------------------------------------------------------------------------------------------- deployment


def test_compose_file_wires_the_distributed_mode(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"api", "worker", "scheduler", "migrate", "redis", "postgres", "minio", "minio-init"} <= set(services)

    def command(name: str) -> str:
        cmd = services[name].get("command")
        return " ".join(cmd) if isinstance(cmd, list) else str(cmd)

    assert command("api") == "clipcast serve"
    assert command("worker") == "clipcast worker"
    assert command("scheduler") == "clipcast scheduler"
    assert command("migrate") == "clipcast db upgrade"
    assert services["scheduler"]["deploy"]["replicas"] == 1
    for name in ("api", "worker", "scheduler", "migrate"):
        service = services[name]
        env = service["environment"]
        for var in ("DATABASE_URL", "REDIS_URL", "CLIPCAST_SECRET_KEY", "CLIPCAST_CONFIG"):
            assert var in env, f"{name} lacks {var}"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert "${CLIPCAST_SECRET_KEY:?" in env["CLIPCAST_SECRET_KEY"], "secrets come from .env, never inline"
        assert service["configs"] == [{"source": "clipcast", "target": env["CLIPCAST_CONFIG"]}]
        assert "postgres" in service["depends_on"]
    for name in ("api", "worker", "scheduler"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["minio-init"]["condition"] == "service_completed_successfully"
    assert "mc mb --ignore-existing local/clipcast" in command("minio-init")
    # The mounted configuration is a valid Clipcast configuration selecting the MinIO bucket.
    config = tmp_path / "clipcast.yaml"
    config.write_text(compose["configs"]["clipcast"]["content"], encoding="utf-8")
    settings = load_settings(config)
    assert settings.storage.backend == "s3"
    assert settings.storage.sections()["s3"]["bucket"] == "clipcast"
    assert settings.storage.sections()["s3"]["endpoint_url"] == "http://minio:9000"


def test_compose_commands_exist_in_the_cli() -> None:
    """Every `clipcast ...` the compose file runs is a real command (its --help works)."""
    from typer.testing import CliRunner

    from core.cli import app
    from tests.conftest import need

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    commands = [s["command"] for s in services.values() if s.get("command", [None])[0] == "clipcast"]
    assert len(commands) == 4
    missing = []
    for command in commands:
        result = CliRunner().invoke(app, [*command[1:], "--help"])
        if result.exit_code != 0:
            missing.append(" ".join(command))
    need(not missing, f"docker-compose.yml runs commands the CLI does not have yet: {missing}")


def test_deployment_doc_storage_example_is_valid(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "clipcast.yaml").write_text(block, encoding="utf-8")
    settings = load_settings(tmp_path / "clipcast.yaml")
    assert set(settings.storage.sections()) == {"s3", "r2"}


def test_dockerfile_runs_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in text
    for package in ("ffmpeg", "espeak-ng", "fonts-"):
        assert package in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert ".git" in (ROOT / ".dockerignore").read_text(encoding="utf-8")
