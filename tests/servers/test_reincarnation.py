"""The restart policy: which exits restart, the backoff, the reset, giving up."""

from __future__ import annotations

from servers.reincarnation import Reincarnation, RestartKnobs


class TestReincarnation:
    def test_backoff_doubles_up_to_the_cap_then_gives_up(self):
        """Quick failures wait 0.1, 0.2, 0.4, … at most backoff_max; the N-th gives up."""
        r = Reincarnation("always", RestartKnobs(backoff=0.1, backoff_max=0.3, give_up=4))
        decisions = [r.on_exit(1, uptime=0.5, now=t) for t in (0.0, 1.0, 2.0, 3.0)]
        assert [("restart", 0.1), ("restart", 0.2), ("restart", 0.3)] == [
            (d.action, d.delay) for d in decisions[:3]]
        assert "give_up" == decisions[3].action
        assert (4, 3.0) == (decisions[3].failures, decisions[3].window)

    def test_a_stable_run_resets_the_count(self):
        """A server that stayed up ``stable`` seconds starts again at the first delay."""
        r = Reincarnation("always", RestartKnobs(backoff=0.1, stable=10, give_up=3))
        r.on_exit(1, uptime=0.1, now=0)
        r.on_exit(1, uptime=0.1, now=1)
        d = r.on_exit(1, uptime=60, now=70)
        assert ("restart", 0.1, 1) == (d.action, d.delay, d.failures)

    def test_policies(self):
        """never never restarts; on-failure skips clean exits; always restarts both."""
        assert "stay_down" == Reincarnation("never").on_exit(1, 0, 0).action
        assert "stay_down" == Reincarnation("on-failure").on_exit(0, 0, 0).action
        assert "restart" == Reincarnation("on-failure").on_exit(-9, 0, 0).action
        assert "restart" == Reincarnation("always").on_exit(0, 0, 0).action

    def test_an_exit_saying_a_restart_cannot_help_is_not_restarted(self):
        """Status 78 (a damaged disk, no image): no restart loop, whatever the policy."""
        from servers.reincarnation import EXIT_WONT_HELP
        assert "wont_help" == Reincarnation("always").on_exit(EXIT_WONT_HELP, 0, 0).action
        assert "restart" == Reincarnation("always").on_exit(1, 0, 0).action

    def test_a_server_that_served_is_restarted_every_time_with_capped_backoff(self):
        """Once registered, quick failures past give_up still restart, at backoff_max."""
        r = Reincarnation("always", RestartKnobs(backoff=0.1, backoff_max=0.4, give_up=2))
        r.registered()
        decisions = [r.on_exit(-9, uptime=0.5, now=float(t)) for t in range(20)]
        assert {"restart"} == {d.action for d in decisions}
        assert [0.1, 0.2, 0.4, 0.4] == [d.delay for d in decisions[:4]]
        assert 0.4 == decisions[-1].delay

    def test_a_stable_run_resets_the_backoff_of_a_server_that_served(self):
        r = Reincarnation("always", RestartKnobs(backoff=0.1, backoff_max=5, stable=10))
        r.registered()
        for t in range(5):
            r.on_exit(1, uptime=0.1, now=t)
        assert 0.1 == r.on_exit(1, uptime=11, now=20).delay

    def test_intensity_gives_up_after_more_than_max_restarts_in_the_period(self):
        """Erlang's MaxR in MaxT: 3 restarts in 10 s are allowed, a 4th is not; restarts
        older than the period do not count."""
        r = Reincarnation("always", RestartKnobs(intensity=3, intensity_period=10))
        r.registered()
        assert ["restart"] * 3 == [r.on_exit(1, 0.5, t).action for t in (0, 1, 2)]
        d = r.on_exit(1, 0.5, 3)
        assert ("give_up", "intensity", 3) == (d.action, d.reason, d.restarts)
        r = Reincarnation("always", RestartKnobs(intensity=2, intensity_period=10))
        r.registered()
        assert ["restart"] * 4 == [r.on_exit(1, 0.5, t).action for t in (0, 1, 12, 13)]

    def test_exit_78_is_not_restarted_even_for_a_server_that_served(self):
        from servers.reincarnation import EXIT_WONT_HELP
        r = Reincarnation("always")
        r.registered()
        assert "wont_help" == r.on_exit(EXIT_WONT_HELP, 100, 100).action
