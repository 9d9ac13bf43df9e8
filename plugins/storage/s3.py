"""S3 and Cloudflare R2 storage (boto3), for distributed installs where every worker shares one bucket.

Objects live at ``<prefix><key>`` in ``bucket``. Credentials: ``access_key_id`` / ``secret_access_key`` when set,
otherwise boto3's own chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance roles).
URLs: with ``public_base_url`` (a CDN or public bucket domain that serves the bucket root) ``url()`` returns
``<public_base_url>/<prefix><key>``; otherwise a presigned GET valid ``expires`` seconds (SigV4 caps it at 7 days).

Uploads stream: ``put_stream`` feeds boto3's managed transfer, which switches to a multipart upload above
``multipart_threshold_mb`` and holds at most ``max_concurrency`` parts of ``multipart_chunk_mb`` in memory.
R2 is the S3 API at ``https://<account_id>.r2.cloudflarestorage.com`` with region ``auto``; it rejects some of
the newer default checksums, so checksums are only sent where the API requires them.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Literal, NoReturn

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from clipcast import Storage, StorageError, hookimpl, scratch_prefix, validate_key

MB = 1024 * 1024
#: SigV4 presigned URLs cannot live longer than this (seconds).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _boto_cause(exc: BaseException) -> ClientError | BotoCoreError | None:
    """The boto error behind ``exc``: boto3's transfers wrap them (S3UploadFailedError, RetriesExceededError)."""
    seen: BaseException | None = exc
    for _ in range(10):  # cause chains are short; never loop forever on a cycle
        if seen is None:
            return None
        if isinstance(seen, ClientError | BotoCoreError):
            return seen
        last = getattr(seen, "last_exception", None)  # RetriesExceededError keeps the final error here
        seen = last if isinstance(last, BaseException) else (seen.__cause__ or seen.__context__)
    return None


class S3Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(description="bucket name (must exist)")
    prefix: str = Field("", description="key prefix inside the bucket, e.g. 'clipcast/'")
    endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, R2...); default: AWS")
    region: str | None = Field(None, description="default: boto3's (AWS_DEFAULT_REGION / profile)")
    access_key_id: SecretStr | None = Field(None, description="default: boto3's credential chain (AWS_* env vars)")
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    public_base_url: str | None = Field(None, description="URL that serves the bucket root publicly (CDN)")
    presign_expiry: int = Field(3600, gt=0, le=MAX_PRESIGN_SECONDS, description="seconds a presigned URL lives")
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    checksums: Literal["when_supported", "when_required"] = Field(
        "when_supported", description="when to send request checksums; some S3-compatible stores need when_required"
    )
    multipart_threshold_mb: float = Field(64, gt=0, description="objects larger than this upload in parts")
    multipart_chunk_mb: float = Field(16, ge=5, description="part size (S3's minimum is 5 MB)")
    max_concurrency: int = Field(4, ge=1, le=32, description="parallel part uploads; parts in memory at most")
    connect_timeout: float = Field(10, gt=0, description="seconds")
    read_timeout: float = Field(60, gt=0, description="seconds")
    max_attempts: int = Field(5, ge=1, description="per request, including the first (botocore 'standard' retries)")

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if value:
            try:
                validate_key(value)
            except StorageError as exc:
                raise ValueError(f"invalid prefix: {exc.message}")
            value += "/"
        return value

    @model_validator(mode="after")
    def _pair(self) -> S3Options:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("set both access_key_id and secret_access_key, or neither (to use AWS_* env vars)")
        return self


class _CountingReader(io.RawIOBase):
    """Counts bytes as boto3 reads them; deliberately not seekable, so boto3 buffers one part at a time."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _ObjectReader(io.RawIOBase):
    """A seekable read-only view of one object: streams the body and reopens with a Range request after a seek."""

    def __init__(self, storage: S3Storage, key: str, full_key: str, response: dict[str, Any]) -> None:
        self._storage, self._key, self._full_key = storage, key, full_key
        self._body: Any = response["Body"]
        self._size = int(response["ContentLength"])
        self._etag: str = response.get("ETag", "")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        new = max(0, base + offset)
        if new != self._pos:
            self._drop_body()
            self._pos = new
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size:
            return 0
        for attempt in (1, 2):  # a connection dropped mid-body resumes once from the current position
            if self._body is None:
                extra = {"IfMatch": self._etag} if self._etag else {}
                response = self._storage._call(
                    "read", self._key, "get_object", Key=self._full_key, Range=f"bytes={self._pos}-", **extra
                )
                self._body = response["Body"]
            try:
                data = self._body.read(len(buffer))
                break
            except (BotoCoreError, OSError) as exc:
                self._drop_body()
                if attempt == 2:
                    raise self._storage._error("read", self._key, exc) from exc
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            try:
                self._body.close()
            finally:
                self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


class S3Storage(Storage):
    name = "s3"
    description = "Amazon S3 or any S3-compatible store (MinIO, Wasabi...)"
    Options = S3Options
    #: Keys per ListObjectsV2 request (S3 returns at most 1000); tests lower it to exercise pagination.
    list_page_size = 1000

    def __init__(self, options: BaseModel | None = None) -> None:
        if options is None:
            raise StorageError(f"the {self.name} storage backend needs options", f"set storage.{self.name}.bucket")
        super().__init__(options)
        self.bucket: str = self.options.bucket
        self.prefix: str = self.options.prefix
        self._bucket_ok = False

    # ------------------------------------------------------------------------------------------ client

    def _endpoint(self) -> str | None:
        return self.options.endpoint_url

    def _region(self) -> str | None:
        return self.options.region

    def _checksums(self) -> str:
        return self.options.checksums

    @cached_property
    def client(self) -> Any:
        """One client per backend (boto3 clients are thread-safe; sessions are not, so each gets its own)."""
        o = self.options
        creds: dict[str, str] = {}
        if o.access_key_id is not None and o.secret_access_key is not None:
            creds = {
                "aws_access_key_id": o.access_key_id.get_secret_value(),
                "aws_secret_access_key": o.secret_access_key.get_secret_value(),
            }
            if o.session_token is not None:
                creds["aws_session_token"] = o.session_token.get_secret_value()
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": o.addressing_style},
            retries={"max_attempts": o.max_attempts, "mode": "standard"},
            connect_timeout=o.connect_timeout,
            read_timeout=o.read_timeout,
            request_checksum_calculation=self._checksums(),
            response_checksum_validation=self._checksums(),
            max_pool_connections=max(10, o.max_concurrency * 2),
        )
        session = boto3.session.Session()
        return session.client("s3", endpoint_url=self._endpoint(), region_name=self._region(), config=config, **creds)

    @cached_property
    def transfer_config(self) -> TransferConfig:
        """Bounded memory: at most ``max_concurrency`` parts of a stream are buffered (boto3's default is 10)."""
        o = self.options
        config = TransferConfig(
            multipart_threshold=int(o.multipart_threshold_mb * MB),
            multipart_chunksize=int(o.multipart_chunk_mb * MB),
            max_concurrency=o.max_concurrency,
            preferred_transfer_client="classic",
        )
        # s3transfer reads these two but boto3's constructor does not accept them.
        config.max_in_memory_upload_chunks = o.max_concurrency
        config.max_in_memory_download_chunks = o.max_concurrency
        return config

    def _full_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _where(self) -> str:
        endpoint = self._endpoint() or "AWS S3"
        return f"bucket {self.bucket!r} at {endpoint}"

    def _error(self, action: str, key: str | None, exc: Exception) -> StorageError:
        """A StorageError naming the bucket, the object and what to check; never includes credentials."""
        target = f"{key!r} in {self._where()}" if key else self._where()
        what = f"{self.name} storage: {action} {target}"
        field = f"storage.{self.name}"
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"{what} failed: no credentials found",
                f"set {field}.access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            )
        if isinstance(exc, EndpointConnectionError):
            return StorageError(
                f"{what} failed: cannot connect to {self._endpoint() or 'AWS'}",
                f"check {field}.endpoint_url and the network",
            )
        if isinstance(exc, ClientError):
            code = _code(exc)
            message = exc.response.get("Error", {}).get("Message", "") or code
            if code == "NoSuchBucket":
                return StorageError(
                    f"{self.name} storage: bucket {self.bucket!r} does not exist at {self._endpoint() or 'AWS S3'}"
                    + (f" (while trying to {action} {key!r})" if key else ""),
                    f"create the bucket, or correct {field}.bucket / endpoint_url / region",
                )
            if code in _DENIED:
                return StorageError(
                    f"{what} failed: access denied ({code})",
                    f"check {field}.access_key_id / secret_access_key (or AWS_* env vars) and that they may use "
                    f"bucket {self.bucket!r}",
                )
            if code == "PreconditionFailed" and key:
                return StorageError(f"{key!r} in {self._where()} changed while it was being read", "read it again")
            if code in _MISSING_KEY and key:
                return StorageError(f"no object {key!r} in {self._where()}", "it was never stored or was deleted")
            return StorageError(f"{what} failed: {code}: {message}", f"check {field} in the configuration")
        if isinstance(exc, BotoCoreError):
            return StorageError(f"{what} failed: {exc}", f"check {field} in the configuration")
        return StorageError(f"{what} failed: {exc!r}")

    def _reraise(self, action: str, key: str | None, exc: Exception) -> NoReturn:
        """Raise the StorageError for a boto error, even one wrapped by boto3's managed transfers.

        Anything that is not a boto error (an unreadable file, a bug) is re-raised unchanged.
        """
        cause = _boto_cause(exc)
        if cause is None:
            raise exc
        if isinstance(cause, ClientError) and _code(cause) in _MISSING_KEY:
            self._check_bucket()  # a missing bucket also answers HEAD with a bare 404
        raise self._error(action, key, cause) from exc

    def _call(self, action: str, key: str | None, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(action, key, exc) from exc

    def _check_bucket(self) -> None:
        """Tell a missing bucket apart from a missing object (HEAD answers both with a bare 404). Once per backend."""
        if self._bucket_ok:
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
                exc.response["Error"]["Code"] = "NoSuchBucket"
            raise self._error("check", None, exc) from exc
        except BotoCoreError as exc:
            raise self._error("check", None, exc) from exc
        self._bucket_ok = True

    # ------------------------------------------------------------------------------------ operations

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        full = self._full_key(key)
        extra = {"ContentType": content_type} if content_type else None
        try:
            self.client.upload_file(str(path), self.bucket, full, ExtraArgs=extra, Config=self.transfer_config)
        except Exception as exc:
            self._reraise("store", key, exc)

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        full = self._full_key(key)
        extra = {"ContentType": content_type} if content_type else None
        counted = _CountingReader(stream)
        try:
            self.client.upload_fileobj(counted, self.bucket, full, ExtraArgs=extra, Config=self.transfer_config)
        except Exception as exc:
            self._reraise("store", key, exc)
        return counted.count

    def open(self, key: str) -> BinaryIO:
        full = self._full_key(key)
        response = self._call("read", key, "get_object", Key=full)
        return io.BufferedReader(_ObjectReader(self, key, full, response), buffer_size=MB)  # type: ignore[return-value]

    def download(self, key: str, dest: Path) -> Path:
        full = self._full_key(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Into a temporary file beside dest, then rename: a failed download never leaves half a file at dest.
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=scratch_prefix(".part"))
        os.close(fd)
        try:
            self.client.download_file(self.bucket, full, tmp, Config=self.transfer_config)
            os.replace(tmp, dest)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, Exception):
                self._reraise("download", key, exc)
            raise
        return dest

    def exists(self, key: str) -> bool:
        full = self._full_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=full)
            return True
        except ClientError as exc:
            if _code(exc) in _MISSING_KEY:
                self._check_bucket()
                return False
            raise self._error("check", key, exc) from exc
        except BotoCoreError as exc:
            raise self._error("check", key, exc) from exc

    def delete(self, key: str) -> None:
        self._call("delete", key, "delete_object", Key=self._full_key(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix, PaginationConfig={"PageSize": self.list_page_size}
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix) :]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(f"list {prefix!r} in", None, exc) from exc

    def url(self, key: str, expires: int | None = None) -> str | None:
        full = self._full_key(key)
        if self.options.public_base_url:
            return f"{self.options.public_base_url.rstrip('/')}/{full}"
        expires = self.options.presign_expiry if expires is None else expires
        if not 0 < expires <= MAX_PRESIGN_SECONDS:
            raise StorageError(
                f"presigned URL expiry {expires} s is out of range", f"use 1..{MAX_PRESIGN_SECONDS} seconds (7 days)"
            )
        try:
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": full}, ExpiresIn=expires
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error("sign a URL for", key, exc) from exc

    def size(self, key: str) -> int:
        return int(self._call("size of", key, "head_object", Key=self._full_key(key))["ContentLength"])


class R2Options(S3Options):
    account_id: str | None = Field(None, description="Cloudflare account id: endpoint <id>.r2.cloudflarestorage.com")
    region: str | None = "auto"
    checksums: Literal["when_supported", "when_required"] = "when_required"

    @model_validator(mode="after")
    def _endpoint_given(self) -> R2Options:
        if not self.account_id and not self.endpoint_url:
            raise ValueError("set account_id (your Cloudflare account id) or endpoint_url")
        return self


class R2Storage(S3Storage):
    name = "r2"
    description = "Cloudflare R2 (S3 API)"
    Options = R2Options

    def _endpoint(self) -> str | None:
        if self.options.endpoint_url:
            return self.options.endpoint_url
        return f"https://{self.options.account_id}.r2.cloudflarestorage.com"


@hookimpl
def register_storage_backends(register):  # type: ignore[no-untyped-def]
    register(S3Storage)
    register(R2Storage)
