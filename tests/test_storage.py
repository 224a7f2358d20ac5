import os
from pathlib import Path

import fsspec
import pytest

from gen1_batch import storage


def test_atomic_write_leaves_only_the_final_file(tmp_path):
    url = str(tmp_path / "shot" / "report.json")
    storage.write_json_atomic(url, {"status": "succeeded"})
    storage.write_json_atomic(url, {"status": "failed"})  # replaces in one step
    assert storage.read_json(url) == {"status": "failed"}
    assert os.listdir(tmp_path / "shot") == ["report.json"]


def test_a_failed_upload_leaves_nothing_at_the_final_path(tmp_path):
    final = str(tmp_path / "out" / "shot.mp4")
    with pytest.raises(FileNotFoundError):
        storage.put_file_atomic(str(tmp_path / "never-encoded.mp4"), final)
    assert not os.path.exists(final)
    assert os.listdir(tmp_path / "out") == []


def test_stale_temporaries_are_cleaned(tmp_path):
    (tmp_path / ".shot.mp4.tmp-1234abcd").write_bytes(b"half a video")
    (tmp_path / "report.json").write_text("{}")
    storage.remove_stale_temporaries(str(tmp_path))
    assert os.listdir(tmp_path) == ["report.json"]


def test_object_store_urls_work_the_same():
    storage.write_bytes_atomic("memory://bucket/out/a/report.json", b"{}")
    assert storage.exists("memory://bucket/out/a/report.json")
    fs = fsspec.filesystem("memory")
    assert [p.rsplit("/", 1)[-1] for p in fs.ls("/bucket/out/a", detail=False)] == ["report.json"]
    assert storage.join("memory://bucket/out", "a", "b.mp4") == "memory://bucket/out/a/b.mp4"
    assert storage.parent("s3://bucket/jobs/m.jsonl") == "s3://bucket/jobs"
    with storage.local_copy("memory://bucket/out/a/report.json") as local:
        assert Path(local).read_bytes() == b"{}"


def test_a_store_that_cannot_be_asked_is_an_error_naming_the_url_not_a_missing_file():
    from tests.helpers import closed_port

    url = f"http://127.0.0.1:{closed_port()}/plates/a.mp4"
    with pytest.raises(storage.StorageError, match=f"^{url}: cannot connect to .*: connection refused$"):
        storage.exists(url)
    with pytest.raises(storage.StorageError, match=r"^nosuch://b/a\.mp4: unknown storage scheme nosuch://"):
        storage.read_bytes("nosuch://b/a.mp4")
    assert storage.exists("memory://nowhere/a.mp4") is False  # simply not there


def test_an_output_that_cannot_be_written_is_found_before_any_work(tmp_path):
    storage.check_writable(str(tmp_path / "new" / "folder"))  # made, written to, left empty
    assert os.listdir(tmp_path / "new" / "folder") == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(storage.StorageError, match="file: is a file, not a folder"):
        storage.check_writable(str(tmp_path / "file"))
    with pytest.raises(storage.StorageError, match=r"^/proc/gen1: "):
        storage.check_writable("/proc/gen1")
