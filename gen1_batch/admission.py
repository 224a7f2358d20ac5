"""How many shots the dataflow holds at once, and the switch that stops it taking more.

Ray Data bounds what runs ahead by bytes of object store, not by rows. Shots of a few small frames
never reach that bound, so decode read shot after shot while the model stages worked through the
first ones: with a 2000-shot manifest, hundreds of decoded shots waited in queues, and a driver
death in that time lost them all. Here decode admits a shot only while fewer than
`shots_in_flight_limit` shots are between decode and commit, so shots commit in a steady stream
and the queues are bounded by the pipeline's width, not the manifest's length.

The rule hooks into Ray Data through a backpressure policy (Ray 2.60's extension point for "may
this operator take another input"); it counts blocks in the executor's queues and tasks, and one
shot is one block throughout the dataflow. The same policy drops the shots not yet admitted when a stop is
requested (Ctrl-C): the dataflow then ends normally once the shots in flight are committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ray.data import DataContext
from ray.data._internal.execution.backpressure_policy import (
    ENABLED_BACKPRESSURE_POLICIES,
    ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY,
    BackpressurePolicy,
)
from ray.data._internal.execution.operators.base_physical_operator import InternalQueueOperatorMixin
from ray.data._internal.execution.operators.input_data_buffer import InputDataBuffer

from gen1_batch.config import StageResources
from gen1_batch.stages.spec import MODEL_STAGES


def shots_in_flight_limit(resources: dict[str, StageResources]) -> int:
    """Shots the dataflow may hold between decode and commit: one at work and one waiting for every
    model actor, plus one being decoded and one being written."""
    return 2 * sum(resources[stage].pool[1] for stage in MODEL_STAGES) + 2


@dataclass
class ShotGate:
    """The driver's side of the policy: the limit, the stop switch, and what the policy last counted."""

    limit: int
    stop: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0
    most_in_flight: int = 0
    dropped: bool = False  # the shots not yet admitted were dropped after a stop


_current: ShotGate | None = None  # the gate of the dataflow this driver runs (one at a time)


@contextmanager
def gated(limit: int, stop: threading.Event | None = None) -> Iterator[ShotGate]:
    """Admit shots to the next dataflow this process runs through a gate of `limit` shots."""
    global _current
    gate = ShotGate(limit, stop or threading.Event())
    ctx = DataContext.get_current()
    policies = ctx.get_config(ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY, ENABLED_BACKPRESSURE_POLICIES)
    ctx.set_config(ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY,
                   [*(p for p in policies if p is not ShotAdmissionPolicy), ShotAdmissionPolicy])
    _current = gate
    try:
        yield gate
    finally:
        _current = None
        ctx.set_config(ENABLED_BACKPRESSURE_POLICIES_CONFIG_KEY, policies)


class ShotAdmissionPolicy(BackpressurePolicy):
    """Lets the first stage take a shot only while the gate's limit allows (see the module doc).

    The check sits on the first operator's own `can_add_input`, not only in this policy's: when no
    task runs anywhere (model actors still loading, or restarting), Ray Data's liveness rule
    dispatches operators whatever the policies say, but never one whose `can_add_input` is False.
    """

    @property
    def name(self) -> str:
        return "ShotsInFlight"

    def __init__(self, data_context: DataContext, topology: Any, resource_manager: Any):
        super().__init__(data_context, topology, resource_manager)
        self._gate = _current
        ops = [op for op in topology if not isinstance(op, InputDataBuffer)]
        if self._gate is None or not ops:
            return
        self._first, self._last = ops[0], ops[-1]
        operator_allows = self._first.can_add_input

        def can_add_input() -> bool:
            return operator_allows() and self._admits()

        self._first.can_add_input = can_add_input

    def _admits(self) -> bool:
        if self._gate.stop.is_set():
            self._drop_unadmitted()
            return False
        count = self._in_flight()
        self._gate.in_flight = count
        self._gate.most_in_flight = max(self._gate.most_in_flight, count)
        return count < self._gate.limit

    def _in_flight(self) -> int:
        """Shots admitted and not yet committed: every block in a stage's queues or tasks, from the
        first stage's internal input to the last stage's running tasks. An operator's output queue
        is the next one's input queue, so each queue is counted once, as an output."""
        count = 0
        for op, state in self._topology.items():
            if isinstance(op, InputDataBuffer):
                continue
            if isinstance(op, InternalQueueOperatorMixin):
                count += op.internal_input_queue_num_blocks()
            count += op.num_active_tasks()
            if op is not self._last:  # the last stage's outputs are committed shots
                count += state.total_enqueued_output_blocks()
        return count

    def _drop_unadmitted(self) -> None:
        """Drop the shots decode has not taken: it then finishes with the shots it holds."""
        if self._gate.dropped:
            return
        for upstream in self._first.input_dependencies:
            while upstream.has_next():
                upstream.get_next()
        for queue in self._topology[self._first].input_queues:
            queue.clear()
        self._gate.dropped = True
