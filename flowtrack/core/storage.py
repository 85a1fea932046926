"""Where uploaded files live (device photos, signatures): a folder under the instance path by default, or an
S3-compatible bucket when `FILE_STORAGE_URL` is `s3://bucket[/prefix]` (`S3_ENDPOINT_URL` for a store other
than AWS; credentials as boto3 reads them, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).

Keys are made by the code, never from user input, and always start with the company's id, so removing a
company's files is removing one prefix.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from flowtrack.core.config import setting

_KEY = re.compile(r"^[0-9a-f-]{36}(/[A-Za-z0-9_.-]+)+$")


class StoredFileMissing(LookupError):
    """No file under that key (removed, or never written)."""


class FileStorage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    """Files in a folder: `<root>/<company id>/...`."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.root / _checked(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)  # a reader never sees half a file

    def get(self, key: str) -> bytes:
        try:
            return (self.root / _checked(key)).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(key) from None

    def delete(self, key: str) -> None:
        (self.root / _checked(key)).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = self.root / prefix.strip("/")
        if not folder.is_dir() or not prefix.strip("/"):
            return 0
        removed = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        return removed


class S3Storage:
    """Files in an S3-compatible bucket, under an optional prefix."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None):
        import boto3  # only installed where S3 is used: pip install -e ".[s3]"

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(_checked(key)), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(_checked(key)))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise StoredFileMissing(key) from None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(_checked(key)))

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.strip("/"):
            return 0
        removed = 0
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._name(prefix.strip("/") + "/"))
        for page in pages:
            names = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if names:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": names, "Quiet": True})
                removed += len(names)
        return removed


def storage_at(instance_path: Path) -> FileStorage:
    """The configured storage; the local folder is `<instance>/files`."""
    url = setting("FILE_STORAGE_URL")
    if not url:
        return LocalStorage(instance_path / "files")
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise RuntimeError("FILE_STORAGE_URL must be s3://bucket or s3://bucket/prefix")
    return S3Storage(parsed.netloc, parsed.path, endpoint_url=setting("S3_ENDPOINT_URL"))


def file_storage() -> FileStorage:
    """The app's storage (in a request or a job)."""
    from flask import current_app

    storage = current_app.extensions.get("flowtrack.storage")
    if storage is None:
        storage = current_app.extensions["flowtrack.storage"] = storage_at(
            current_app.extensions["flowtrack.settings"].instance_path)
    return storage
