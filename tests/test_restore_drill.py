"""The restore drill (bench/restore_drill.py) in the normal suite: the real server and the real
Litestream under load, both SIGKILLed and the deployment folder deleted, then ``ccch restore`` on a
fresh folder. About 40 s on 2 cores. The server logs in JSON meanwhile, and the log of that busy
run is searched for phone numbers and e-mail addresses."""

from __future__ import annotations

import importlib.util
import sys

from ccch_testing import ROOT


def test_every_acknowledged_write_older_than_the_loss_bound_comes_back():
    spec = importlib.util.spec_from_file_location("restore_drill", ROOT / "bench" / "restore_drill.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["restore_drill"] = module
    spec.loader.exec_module(module)
    figures = module.drill(seconds=16, citizens=3, participants=3, workers=2, sync_interval=1, min_acknowledged=25)
    assert figures["problems"] == []
    assert figures["integrity"] == "ok"
    for label, row in figures["kinds"].items():
        assert row["acknowledged"] > 20, (label, row)
        assert row["lost_older_than_bound"] == 0, (label, row)
        # What the replica lacks is at most the last couple of seconds, never most of the run.
        assert row["restored"] >= row["acknowledged"] * 0.7, (label, row)
    assert figures["window_seconds"] <= figures["bound_seconds"]
    point = figures["point_in_time"]
    assert point["missing"] == 0 and point["acknowledged_before"] > 0
    assert point["survey_responses"] < figures["kinds"]["survey submissions"]["restored"]
    # /metrics of the 2 gunicorn workers, scraped just before the loss: their counts added up.
    counted = figures["metrics"]
    assert counted["survey_requests"] >= 2 * counted["survey_acknowledged_before"] > 0
    assert counted["survey_responses"] >= counted["survey_acknowledged_before"]
    assert counted["replication_lag"] is not None and counted["replication_lag"] < 5
    # The same busy run's server log: JSON lines with request ids, and no phone number or address
    # (the participants registered with theirs, and got their codes by "SMS").
    log = figures["log"]
    assert log["broken_lines"] == 0
    assert log["request_lines"] >= 2 * figures["kinds"]["survey submissions"]["acknowledged"]  # page, then POST
    assert log["personal_data"] == []
