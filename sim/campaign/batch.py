"""Campaign batches: chunks of campaigns through the batch engine's executors, into a
results folder of the batch engine (``sim.batch.storage``: manifest, lock, part
records, ``--resume``), as ``negsim run`` writes one.

Chunk ``k`` of a batch uses child ``k`` of the batch's ``SeedSequence`` (as rounds
do), so results do not depend on which executor runs the chunks, or in what order.
A part holds its campaigns' rows; the chunk's tally is computed from them
(``CampaignTally.of``), so a part done before is read back, checked against its
record, and tallied again, never recomputed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from sim.batch.chunks import RESOURCE_ERRORS, ChunkBounds, ChunkResourceError
from sim.batch.executors.base import Executor
from sim.batch.progress import progress_bar
from sim.batch.storage import MANIFEST, FolderError, ResultsFolder, make_manifest
from sim.campaign.engine import simulate_chunk
from sim.campaign.spec import Campaign
from sim.campaign.tally import CampaignTally

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class CampaignTask:
    """One chunk of campaigns, as sent to a worker; ``part`` names its file."""

    campaign: Campaign
    seed: int
    chunk: int
    first: int
    count: int
    part: str

    def __str__(self) -> str:
        return f"chunk {self.chunk} (part {self.part}, campaigns {self.first}-" \
               f"{self.first + self.count - 1})"


@dataclass(frozen=True)
class CampaignOutcome:
    """A finished chunk: its rows as a Parquet part (``failures`` is always None: a
    campaign is one world, and a round that raises stops the batch; ``inputs`` too: a
    campaign keeps no ``inputs/``), and its tally."""

    results: bytes
    tally: CampaignTally
    failures: None = None
    inputs: None = None


def encode(rows: pa.Table) -> bytes:
    """The rows as the bytes of a Parquet file (zstd, as the batch engine's parts)."""
    sink = io.BytesIO()
    pq.write_table(rows, sink, compression="zstd")
    return sink.getvalue()


def decode(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data), use_threads=False, pre_buffer=False)


class CampaignRoundError(Exception):
    """A round of a campaign raised: the batch stops, in one line (a message that
    pickles, for the pool and Dask). Unlike a batch of rounds, a campaign cannot leave
    one replicate out: its later days depend on every round it held."""


def _error_text(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:500]


def compute_campaign_chunk(task: CampaignTask) -> CampaignOutcome:
    """Run one chunk (a named module-level function, so that it pickles). A resource
    error stops the chunk (``ChunkResourceError``: the batch keeps what finished), and
    so does an error of the model (``CampaignRoundError``)."""
    try:
        rows, _ = simulate_chunk(task.campaign, task.seed, task.chunk, task.first,
                                 task.count)
    except RESOURCE_ERRORS as error:
        raise ChunkResourceError(f"{task} stopped: {_error_text(error)}") from None
    except Exception as error:  # the model's: one line, not a traceback
        raise CampaignRoundError(f"{task} stopped: a round raised {_error_text(error)}"
                                 ) from None
    return CampaignOutcome(encode(rows), CampaignTally.of(rows, task.campaign))


class CampaignTasks(Sequence):
    """The chunks of a batch, in order, each made when asked for (as
    ``sim.batch.chunks.ChunkTasks``); part names sort in chunk order."""

    def __init__(self, campaign: Campaign, runs: int, seed: int, chunk_size: int) -> None:
        self.campaign, self.seed = campaign, seed
        self.bounds = ChunkBounds(runs, chunk_size)
        self.width = max(5, len(str(len(self.bounds) - 1)))

    def __len__(self) -> int:
        return len(self.bounds)

    def __getitem__(self, k: int) -> CampaignTask:
        k = k + len(self) if k < 0 else k
        first, count = self.bounds[k]
        return CampaignTask(self.campaign, self.seed, k, first, count,
                            f"part-{k:0{self.width}d}")

    def __iter__(self) -> Iterator[CampaignTask]:
        for k in range(len(self)):
            yield self[k]


def campaign_tasks(campaign: Campaign, runs: int, seed: int,
                   chunk_size: int = CHUNK_SIZE) -> CampaignTasks:
    """The chunks of a batch, in order (a sequence computed when indexed)."""
    return CampaignTasks(campaign, runs, seed, chunk_size)


def campaign_manifest(campaign: Campaign, campaign_file: str, seed: int, runs: int,
                      chunk_size: int, parts: int) -> dict:
    """The batch's manifest: the round scenario's identity as ``negsim run`` records
    it (no ``inputs/``: a campaign keeps its rounds' outcomes only), and as
    ``depends_on`` what else decides the results (the campaign file, the
    implementation record, the fitted rhythm, the horizon)."""
    timing = campaign.timing
    depends_on = {
        "campaign_sha256": campaign.sha256,
        "implementation_record_sha256": None if timing is None else timing.record_sha256,
        "rhythm_sha256": None if campaign.rhythm is None else campaign.rhythm.sha256,
        "start": str(campaign.start), "until": str(campaign.until)}
    manifest = make_manifest("campaign", campaign.round_scenario, campaign.round_scenario.path,
                             seed, runs, chunk_size, parts, inputs=False,
                             depends_on=depends_on)
    return manifest | {"campaign": campaign.name, "campaign_file": campaign_file}


def run_campaign_tasks(tasks: Sequence[CampaignTask], folder: ResultsFolder,
                       executor: Executor, runs: int) -> CampaignTally:
    """Run every task whose part the folder has not recorded (``folder.prepare``), store
    it, and return the tally of all (done before or now); as ``sim.batch.runner``
    does for rounds."""
    campaign = tasks[0].campaign
    tally = CampaignTally(days=campaign.days)
    done = folder.recorded
    done_runs = seen = 0
    for task in tasks if done else ():
        if task.part in done:
            data, _ = folder.read_part(task)  # checked against its record
            tally.add(CampaignTally.of(decode(data), campaign))
            done_runs += task.count
            seen += 1
    if seen != len(done):
        names = {task.part for task in tasks if task.part in done}
        raise FolderError(f"{folder.part_path(min(set(done) - names))}: recorded in "
                          f"{MANIFEST}, but not a part of this batch; move it out of the "
                          "folder's results/ and rerun with --resume")
    folder.start()
    before = frozenset(done)
    bar = progress_bar(runs, done_runs, unit="campaigns")
    try:
        for task, outcome in executor.map_unordered(
                compute_campaign_chunk, (task for task in tasks if task.part not in before)):
            folder.write_part(task, outcome)
            tally.add(outcome.tally)
            bar.update(task.count)
    finally:
        bar.close()
    folder.finish()
    return tally


def run_campaigns(tasks: Sequence[CampaignTask], executor: Executor
                  ) -> Iterator[tuple[CampaignTask, CampaignOutcome]]:
    """Each chunk's outcome as it finishes (in any order), written nowhere: for
    notebooks and tests."""
    yield from executor.map_unordered(compute_campaign_chunk, tasks)
