"""Memory of S3 uploads: ``S3Storage.put_stream`` against a naive whole-body ``put_object``, same run, same data.

    .venv/bin/python bench/storage_stream.py [SIZE_MB]     (default 128)

moto's S3 server runs in a subprocess so only this process's allocations are measured (tracemalloc peak).
The streaming figure should stay near ``max_concurrency x multipart_chunk_mb`` whatever the size; the naive
baseline grows with the object. Prints MB and the ratio streaming/naive.
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from plugins.storage.s3 import S3Storage

MB = 1024 * 1024


class Generated(io.RawIOBase):
    """``size`` bytes produced on demand, like a network upload: never all in memory."""

    def __init__(self, size: int) -> None:
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        self.pos += n
        return b"\x5a" * n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    t = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / MB, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("mb", nargs="?", type=int, default=128, help="size of the streamed object, MB")
    size = ap.parse_args().mb * MB
    port = free_port()
    moto = Path(sys.executable).parent / "moto_server"
    server = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        creds = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **creds)
        client.create_bucket(Bucket="bench")
        storage = S3Storage(
            S3Storage.Options(
                bucket="bench",
                endpoint_url=endpoint,
                region="us-east-1",
                access_key_id="bench",
                secret_access_key="bench",
                multipart_threshold_mb=16,
                multipart_chunk_mb=8,
                max_concurrency=4,
            )
        )
        storage.put_stream("warm-up", io.BytesIO(b"x"))
        client.put_object(Bucket="bench", Key="warm-up-2", Body=b"x")

        naive_peak, naive_s = measure(
            lambda: client.put_object(Bucket="bench", Key="naive.bin", Body=Generated(size).read())
        )
        stream_peak, stream_s = measure(lambda: storage.put_stream("stream.bin", Generated(size)))
        assert storage.size("stream.bin") == size
    finally:
        server.terminate()
        server.wait()
    print(f"object size                          {size / MB:8.0f} MB")
    print(f"naive put_object (whole body)  peak  {naive_peak:8.1f} MB  {naive_s:6.1f} s")
    print(f"S3Storage.put_stream (8 MB x 4) peak {stream_peak:8.1f} MB  {stream_s:6.1f} s")
    print(f"ratio streaming/naive peak memory    {stream_peak / naive_peak:8.3f}")


if __name__ == "__main__":
    main()
