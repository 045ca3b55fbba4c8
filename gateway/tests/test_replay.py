"""Days of traffic through the gateway over HTTP (gunicorn with config/gunicorn.py, on the test database), with
every fault of the full replay (`bench/replay.py`): a 2207 the client stopped waiting for and reversed with 2601,
resent msgids, a lost 2207 answer retried, two tills settling one family at once, backends killed mid-transaction.
After each day every check of `gateway.replay`; and the same seed replayed gives the same end state."""

import tempfile
from pathlib import Path

import pytest

from gateway import replay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _day(base_url: str, *, tag: str, run: int, sites: int, visits: int, kills: int) -> tuple[str, replay.DayResult]:
    world = replay.world_build(tag=tag, run=run, seed=13, sites=sites, patients_per_till=max(4, visits * 4 // 5),
                               families=2, day=replay.today())
    day = replay.run_day(world, replay.plan_day(world, seed=13, visits_per_till=visits), base_url=base_url,
                         kills=kills)
    problems = replay.check_day(world, day)
    assert problems == [], problems[:10]
    return replay.digest(world, day), day


def test_days_with_faults_leave_exact_books_and_the_same_seed_the_same_end(world):
    port = replay.free_port()
    log = Path(tempfile.gettempdir()) / f"test-replay-gunicorn-{port}.log"
    with replay.gunicorn_serving(port=port, env={"DJANGO_SETTINGS_MODULE": "config.settings.test"},
                                 log=log) as base_url:
        _, day = _day(base_url, tag="RA", run=1, sites=5, visits=30, kills=2)
        print("\n" + "\n".join(replay.report(day)))
        assert day.messages >= 2000 and len(day.killed) == 2
        assert {"1101", "2201", "2202", "2203", "2204", "2205", "2206", "2207", "2208", "2601", "3201", "5206",
                "5301", "9001", "9002"} <= set(day.latencies)
        # The same seed twice, once with a backend killed: the same end state.
        first, _ = _day(base_url, tag="RB", run=2, sites=3, visits=10, kills=1)
        again, _ = _day(base_url, tag="RC", run=3, sites=3, visits=10, kills=0)
    assert again == first
