"""Where every stored file lives (photos, signatures, logos, invoice PDFs, printed test reports, exports): a folder
under the instance path by default, or an S3-compatible bucket when `FILE_STORAGE_URL` is `s3://bucket[/prefix]`
(`S3_ENDPOINT_URL` for a store other than AWS; credentials as boto3 reads them, e.g. AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY).

Keys are made by the code, never from user input, and always start with the company's id
(`<company id>/photos/...`, `/signatures/`, `/logos/`, `/invoices/`, `/reports/`, `/exports/`), so removing a
company's files is removing one prefix, and a backup of the files is a walk over `keys()`.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from flowtrack.core.config import setting

_KEY = re.compile(r"^[0-9a-f-]{36}(/[A-Za-z0-9_.-]+)+$")
# A prefix names a company's folder, or a folder inside it; "" is the whole store (listing only).
_PREFIX = re.compile(r"^([0-9a-f-]{36}(/[A-Za-z0-9_.-]+)*)?$")
_PARTIAL = ".partial"


class StoredFileMissing(LookupError):
    """No file under that key (removed, or never written)."""


class FileStorage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at `path` (built elsewhere, e.g. in a temporary file) without reading it into memory;
        `path` stays where it is, for the caller to remove."""

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO:
        """The file as a stream to read (and close)."""

    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every file under the folder `prefix` (a company's id at least); returns how many."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The keys under the folder `prefix` ("" for the whole store), in order."""


def is_key(key: str) -> bool:
    """Could the code have made this key (a company's id, then a path of plain names)?"""
    return bool(_KEY.match(key)) and ".." not in key


def _checked(key: str) -> str:
    if not is_key(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def _folder(prefix: str) -> str:
    """A prefix without its slashes, checked like a key."""
    folder = prefix.strip("/")
    if not _PREFIX.match(folder) or ".." in folder:
        raise ValueError(f"not a storage prefix: {prefix!r}")
    return folder


class LocalStorage:
    """Files in a folder: `<root>/<company id>/...`."""

    def __init__(self, root: Path):
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root / _checked(key)

    def _partial(self, key: str) -> tuple[Path, Path]:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.with_name(path.name + _PARTIAL)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path, partial = self._partial(key)
        partial.write_bytes(data)
        partial.replace(path)  # a reader never sees half a file

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        target, partial = self._partial(key)
        shutil.copyfile(path, partial)
        partial.replace(target)

    def get(self, key: str) -> bytes:
        try:
            return self.path_of(key).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(key) from None

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path_of(key).open("rb")
        except FileNotFoundError:
            raise StoredFileMissing(key) from None

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        folder = _folder(prefix)
        path = self.root / folder
        if not folder or not path.is_dir():
            return 0
        removed = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        return removed

    def keys(self, prefix: str = "") -> Iterator[str]:
        folder = _folder(prefix)
        path = self.root / folder if folder else self.root
        if not path.is_dir():
            return
        found = (p.relative_to(self.root).as_posix() for p in path.rglob("*")
                 if p.is_file() and not p.name.endswith(_PARTIAL))
        yield from sorted(key for key in found if _KEY.match(key))


class S3Storage:
    """Files in an S3-compatible bucket, under an optional prefix."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None):
        import boto3  # only installed where S3 is used: pip install -e ".[s3]"

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(_checked(key)), Body=data, ContentType=content_type)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        # boto3's managed transfer: a large file goes up in parts, never whole in memory.
        self.client.upload_file(str(path), self.bucket, self._name(_checked(key)),
                                ExtraArgs={"ContentType": content_type})

    def stored_object(self, key: str) -> dict:
        """The object's GET answer (its `Body` a stream, with `ContentLength` and `LastModified`)."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(_checked(key)))
        except self.client.exceptions.NoSuchKey:
            raise StoredFileMissing(key) from None

    def get(self, key: str) -> bytes:
        with self.stored_object(key)["Body"] as body:
            return body.read()

    def open(self, key: str) -> BinaryIO:
        return self.stored_object(key)["Body"]

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(_checked(key)))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(_checked(key)))

    def _listed(self, folder: str) -> Iterator[list[str]]:
        """The object names under a folder ("" for all of this store), a page at a time."""
        within = self._name(folder) + "/" if folder else (self.prefix + "/" if self.prefix else "")
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=within):
            yield [item["Key"] for item in page.get("Contents", [])]

    def delete_prefix(self, prefix: str) -> int:
        folder = _folder(prefix)
        if not folder:
            return 0
        removed = 0
        for names in self._listed(folder):
            if names:
                self.client.delete_objects(Bucket=self.bucket,
                                           Delete={"Objects": [{"Key": n} for n in names], "Quiet": True})
                removed += len(names)
        return removed

    def keys(self, prefix: str = "") -> Iterator[str]:
        skip = len(self.prefix) + 1 if self.prefix else 0
        for names in self._listed(_folder(prefix)):
            for name in names:
                if _KEY.match(name[skip:]):
                    yield name[skip:]


def storage_at(instance_path: Path) -> FileStorage:
    """The configured storage; the local folder is `<instance>/files`."""
    return _store(setting("FILE_STORAGE_URL"), instance_path / "files", setting("S3_ENDPOINT_URL"),
                  setting("S3_REGION"))


def _store(url: str | None, folder: Path, endpoint_url: str | None, region: str | None) -> FileStorage:
    if not url:
        return LocalStorage(folder)
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise RuntimeError("FILE_STORAGE_URL must be s3://bucket or s3://bucket/prefix")
    return S3Storage(parsed.netloc, parsed.path, endpoint_url=endpoint_url, region=region)


def region_storage(region, instance_path: Path) -> FileStorage:
    """A region's store: the home region's is FILE_STORAGE_URL (or `<instance>/files`), as before regions;
    another's is its own `<REGION>_FILE_STORAGE_URL` (at `<REGION>_S3_ENDPOINT_URL` if given), or the folder
    `<instance>/files-<region>`."""
    if region.home:
        return storage_at(instance_path)
    # Never the home region's FILE_STORAGE_URL: a region without a store of its own keeps a folder of its own.
    return _store(region.settings.file_storage_url, instance_path / f"files-{region.name}",
                  region.settings.s3_endpoint_url, region.settings.s3_region)


def file_storage() -> FileStorage:
    """The storage of the region the request or job is in."""
    from flask import current_app

    from flowtrack.core.regions import current_region

    region = current_region()
    if region.home:
        storage = current_app.extensions.get("flowtrack.storage")
        if storage is None:
            storage = current_app.extensions["flowtrack.storage"] = storage_at(
                current_app.extensions["flowtrack.settings"].instance_path)
        return storage
    if region.storage is None:
        region.storage = region_storage(region, current_app.extensions["flowtrack.settings"].instance_path)
    return region.storage


def send_stored(storage: FileStorage, key: str, *, mimetype: str, download_name: str):
    """A download of a stored file, as Flask's `send_file` answers it: the file itself from the local folder
    (conditional requests and ranges included), streamed from a bucket. Raises StoredFileMissing before
    anything is sent, so the caller can answer 404 (or 410) and audit only what is really sent."""
    from flask import send_file

    if isinstance(storage, LocalStorage):
        try:
            return send_file(storage.path_of(key), mimetype=mimetype, as_attachment=True,
                             download_name=download_name)
        except FileNotFoundError:
            raise StoredFileMissing(key) from None
    if isinstance(storage, S3Storage):
        stored = storage.stored_object(key)
        response = send_file(stored["Body"], mimetype=mimetype, as_attachment=True, download_name=download_name,
                             last_modified=stored.get("LastModified"))
        response.content_length = int(stored["ContentLength"])
        return response
    return send_file(storage.open(key), mimetype=mimetype, as_attachment=True, download_name=download_name)
