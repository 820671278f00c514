"""settle_heap: a long-lived cloud process keeps its start-up objects out of full collections."""

from __future__ import annotations

import gc

from selfheal.cloud.server import YOUNG_GENERATION_THRESHOLD, settle_heap


def test_settle_heap_freezes_what_is_alive_and_later_objects_are_still_collected() -> None:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *thresholds[1:])
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the modules, classes and objects of this process
        assert all(count == 0 for count in gc.get_count()[1:])  # a collection ran first

        class Cycle:
            pass

        made = Cycle()
        made.me = made  # type: ignore[attr-defined]
        del made
        assert gc.collect() >= 1  # made after the freeze: collected as before
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
