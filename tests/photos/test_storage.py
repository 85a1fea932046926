"""The two storage backends keep the same promises: a file comes back as it was put, a missing one says so,
keys outside a company's folder are refused, and a company's files go with one prefix. The S3 backend talks
HTTP to a local S3-compatible server (moto's), as it would to a bucket."""
import uuid

import pytest

from flowtrack.core.storage import LocalStorage, S3Storage, StoredFileMissing, storage_at


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path, monkeypatch):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"flowtrack-{uuid.uuid4().hex[:12]}"
    store = S3Storage(bucket, "prod/files", endpoint_url=endpoint)
    store.client.create_bucket(Bucket=bucket)
    return store


def test_a_file_comes_back_as_it_was_put_and_is_gone_once_deleted(storage):
    company = uuid.uuid4()
    key = f"{company}/photos/{uuid.uuid4()}.jpg"
    storage.put(key, b"\xff\xd8 a picture", "image/jpeg")
    assert storage.get(key) == b"\xff\xd8 a picture"
    storage.delete(key)
    with pytest.raises(StoredFileMissing):
        storage.get(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "photos/x.jpg", f"{uuid.uuid4()}/../x.jpg",
                                 f"{uuid.uuid4()}", f"{uuid.uuid4()}/a b.jpg"])
def test_keys_outside_a_companys_folder_are_refused(storage, key):
    with pytest.raises(ValueError):
        storage.put(key, b"x", "image/jpeg")


def test_a_companys_files_go_with_its_prefix_and_no_one_elses(storage):
    leaving, staying = uuid.uuid4(), uuid.uuid4()
    for company in (leaving, staying):
        for name in ("photos/a.jpg", "photos/a.thumb.jpg", "signatures/t-technician.png"):
            storage.put(f"{company}/{name}", b"data", "application/octet-stream")
    assert storage.delete_prefix(str(leaving)) == 3
    with pytest.raises(StoredFileMissing):
        storage.get(f"{leaving}/photos/a.jpg")
    assert storage.get(f"{staying}/photos/a.jpg") == b"data"
    assert storage.delete_prefix("") == 0  # never everything


def test_the_backend_is_chosen_by_the_environment(tmp_path, monkeypatch, s3_endpoint):
    assert isinstance(storage_at(tmp_path), LocalStorage)
    monkeypatch.setenv("FILE_STORAGE_URL", "s3://photos-bucket/flowtrack")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    chosen = storage_at(tmp_path)
    assert isinstance(chosen, S3Storage) and (chosen.bucket, chosen.prefix) == ("photos-bucket", "flowtrack")
    monkeypatch.setenv("FILE_STORAGE_URL", "ftp://elsewhere")
    with pytest.raises(RuntimeError, match="s3://bucket"):
        storage_at(tmp_path)
