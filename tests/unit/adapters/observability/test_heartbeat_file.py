import logging
import os

from simple_worker.adapters.observability._heartbeat_file import HeartbeatFile


def test_a_beat_creates_the_file_then_moves_its_modification_time_forward(tmp_path):
    path = tmp_path / "alive"
    heartbeat = HeartbeatFile(path)

    heartbeat.beat()
    os.utime(path, ns=(0, 0))  # as if the last beat were long ago
    heartbeat.beat()

    assert path.stat().st_mtime_ns > 0


def test_a_beat_that_cannot_write_logs_one_warning_until_it_works_again(tmp_path, caplog):
    heartbeat = HeartbeatFile(tmp_path / "missing-directory" / "alive")

    heartbeat.beat()
    heartbeat.beat()

    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert "missing-directory" in record.getMessage()
    assert record.error_type == "FileNotFoundError"

    (tmp_path / "missing-directory").mkdir()
    heartbeat.beat()
    (tmp_path / "missing-directory" / "alive").unlink()
    (tmp_path / "missing-directory").rmdir()
    with caplog.at_level(logging.WARNING):
        heartbeat.beat()
    assert len(caplog.records) == 2
