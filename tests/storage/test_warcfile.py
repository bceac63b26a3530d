"""A WARC file name is taken once: two writers (daemon workers fork from one server and may pick
the same name in the same second) never both write under it."""

from __future__ import annotations

import pytest

from storage.warcfile import OPEN_SUFFIX, WarcFile


def test_a_name_whose_closed_file_exists_is_refused(tmp_path):
    name = "t-20260102030405-00001-h.warc.gz"
    (tmp_path / name).write_bytes(b"closed by another writer")
    with pytest.raises(FileExistsError):
        WarcFile(tmp_path, name)
    assert not (tmp_path / (name + OPEN_SUFFIX)).exists()  # our claim is withdrawn
    assert (tmp_path / name).read_bytes() == b"closed by another writer"


def test_a_name_another_writer_holds_open_is_refused(tmp_path):
    name = "t-20260102030405-00002-h.warc.gz"
    first = WarcFile(tmp_path, name)
    with pytest.raises(FileExistsError):
        WarcFile(tmp_path, name)
    first.close()
    assert (tmp_path / name).exists() and not (tmp_path / (name + OPEN_SUFFIX)).exists()
