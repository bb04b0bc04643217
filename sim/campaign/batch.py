"""Campaign batches: chunks of campaigns through the batch engine's executors.

Chunk ``k`` of a batch uses child ``k`` of the batch's ``SeedSequence`` (as rounds
do), so results do not depend on which executor runs the chunks, or in what order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from sim.batch.chunks import chunk_bounds
from sim.batch.executors.base import Executor
from sim.campaign.engine import CampaignTally, simulate_chunk
from sim.campaign.spec import Campaign

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class CampaignTask:
    campaign: Campaign
    seed: int
    chunk: int
    first: int
    count: int


def compute_campaign_chunk(task: CampaignTask) -> tuple[pd.DataFrame, CampaignTally]:
    """Run one chunk (a named module-level function, so that it pickles)."""
    rows, tally, _ = simulate_chunk(task.campaign, task.seed, task.chunk, task.first,
                                    task.count)
    return rows, tally


def campaign_tasks(campaign: Campaign, runs: int, seed: int,
                   chunk_size: int = CHUNK_SIZE) -> list[CampaignTask]:
    return [CampaignTask(campaign, seed, k, first, count)
            for k, (first, count) in enumerate(chunk_bounds(runs, chunk_size))]


def run_campaigns(tasks: list[CampaignTask], executor: Executor
                  ) -> Iterator[tuple[CampaignTask, pd.DataFrame, CampaignTally]]:
    """Each chunk's rows and tally as it finishes (in any order)."""
    for task, (rows, tally) in executor.map_unordered(compute_campaign_chunk, tasks):
        yield task, rows, tally
