import os

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


def test_only_names_the_writer_makes_are_cleaned_as_temporaries(tmp_path):
    kept = ["notes.tmp-draft.txt", "plate.tmp-1.exr", ".hidden.tmp-config"]
    for name in kept:
        (tmp_path / name).write_text("someone's file")
    storage.remove_stale_temporaries(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(kept)


def test_object_store_urls_work_the_same():
    storage.write_bytes_atomic("memory://bucket/out/a/report.json", b"{}")
    assert storage.exists("memory://bucket/out/a/report.json")
    fs = fsspec.filesystem("memory")
    assert [p.rsplit("/", 1)[-1] for p in fs.ls("/bucket/out/a", detail=False)] == ["report.json"]
    assert storage.join("memory://bucket/out", "a", "b.mp4") == "memory://bucket/out/a/b.mp4"
    assert storage.parent("s3://bucket/jobs/m.jsonl") == "s3://bucket/jobs"


def test_an_output_that_cannot_be_written_is_found_before_any_work_and_a_good_one_is_left_as_it_was(tmp_path):
    (tmp_path / "taken").write_text("a file")
    assert "is a file" in storage.output_problem(str(tmp_path / "taken"))
    assert "NotADirectoryError" in storage.output_problem(str(tmp_path / "taken" / "out"))
    assert "cannot write there" in storage.output_problem("/proc/gen1-out")  # a place no one can write
    assert "unknown storage scheme nope://" in storage.output_problem("nope://bucket/out")
    assert "is a folder" in storage.output_problem(str(tmp_path), folder=False)
    assert f"{tmp_path / 'taken'} is a file" in storage.output_problem(str(tmp_path / "taken" / "e.mp4"), folder=False)
    assert storage.output_problem(str(tmp_path / "new" / "out")) is None
    assert storage.output_problem(str(tmp_path / "new" / "edit.mp4"), folder=False) is None
    assert storage.output_problem("memory://probed/out") is None
    assert sorted(os.listdir(tmp_path)) == ["taken"]  # no marker, no folder left behind
    assert fsspec.filesystem("memory").find("/probed") == []


def test_a_store_that_cannot_be_asked_is_an_error_naming_the_url_not_a_missing_file():
    from tests.helpers import closed_port

    url = f"http://127.0.0.1:{closed_port()}/plates/a.mp4"
    with pytest.raises(storage.StorageError, match=f"^{url}: cannot connect to .*: connection refused$"):
        storage.exists(url)
    with pytest.raises(storage.StorageError, match=r"^nosuch://b/a\.mp4: unknown storage scheme nosuch://"):
        storage.read_bytes("nosuch://b/a.mp4")
    assert storage.exists("memory://nowhere/a.mp4") is False  # simply not there
