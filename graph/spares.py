"""How many samples to keep in flight near a job's end, so a rejected one does not leave a serial tail.

With exactly ``n`` to accept, a runner that starts a sample only while ``accepted + in_flight <
n`` waits, at the end, for each rejected sample to be redone one after another: a chain of a few
rejections adds a whole sample's time each (measured with the peers' task, 96 samples at 32 in
flight: 4-5 s of a 12-13 s job with 1-10 calls in flight). Instead the runner keeps starting
samples while the ones in flight are unlikely to bring the job to ``n``: while the chance that at
least ``remaining`` of ``in_flight`` samples are accepted, each with the job's acceptance rate so
far, is below :data:`CONFIDENCE`. With no rejection seen, that is the old rule exactly.
"""

from __future__ import annotations

import math

CONFIDENCE = 0.9
SURPLUS = "surplus: the job had its n accepted samples when this spare finished"


def chance_of_enough(in_flight: int, remaining: int, acceptance: float) -> float:
    """P(at least ``remaining`` of ``in_flight`` independent samples accepted, each with ``acceptance``)."""
    if remaining <= 0:
        return 1.0
    if in_flight < remaining:
        return 0.0
    rejection = 1.0 - acceptance
    return sum(
        math.comb(in_flight, kept) * acceptance**kept * rejection ** (in_flight - kept)
        for kept in range(remaining, in_flight + 1)
    )


def should_start_another(in_flight: int, remaining: int, acceptance: float) -> bool:
    """Whether to start one more sample: the ones in flight would likely not reach ``remaining``."""
    return remaining > 0 and chance_of_enough(in_flight, remaining, acceptance) < CONFIDENCE
