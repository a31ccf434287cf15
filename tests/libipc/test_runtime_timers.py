"""Runtime timers: cancelled ones do not pile up in the heap (a server that arms a
day-long timer per waiting call and cancels it when the call is answered)."""

from __future__ import annotations

from libipc.runtime import SWEEP_EVERY, Runtime


class TestCancelledTimers:
    def test_cancelled_timers_are_swept_out_of_the_heap(self):
        """Ten thousand day-long timers set and cancelled leave a heap of at most
        about SWEEP_EVERY entries; live timers survive the sweeps and still run."""
        rt = Runtime(None, 5, "timers")
        ran = []
        keep = rt.after(0.0, lambda: ran.append("kept"))
        for _ in range(10_000):
            rt.after(86400.0, lambda: ran.append("cancelled")).cancel()
        assert len(rt._timers) <= 2 * SWEEP_EVERY
        assert not keep.cancelled
        assert rt.run_due()
        assert ["kept"] == ran

    def test_a_timer_set_while_timers_run_is_kept(self):
        """The sweep works in place: a callback that sets timers (and so may sweep)
        while _run_timers walks the heap loses none and runs none twice."""
        rt = Runtime(None, 5, "timers")
        ran = []

        def rearm():
            ran.append("first")
            for _ in range(SWEEP_EVERY):
                rt.after(86400.0, lambda: None).cancel()
            rt.after(0.0, lambda: ran.append("second"))

        for _ in range(SWEEP_EVERY):
            rt.after(86400.0, lambda: None).cancel()
        rt.after(0.0, rearm)
        rt.run_due()
        rt.run_due()
        assert ["first", "second"] == ran
