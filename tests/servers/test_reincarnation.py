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
