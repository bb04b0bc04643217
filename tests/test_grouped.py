"""Small chunks of several design points run as one model give each chunk the part and
tally it has alone: the same bytes, the same counts."""

from __future__ import annotations

import json
from pathlib import Path

from sim.batch import grouped, runner
from sim.batch.chunks import chunk_tasks, compute_chunk
from sim.batch.grouped import ChunkGroup, compute_group, groups, shared_key
from sim.cli import batching, main
from sim.model.parameters import realise
from sim.scenario.overrides import with_values

ROOT = Path(__file__).resolve().parents[1]
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"


def design_tasks():
    """Four design points (pressure moved; the last also changes the item time, which
    the replicates share), 300 rounds each in chunks of 200: parts of 200 and 100."""
    points = [{"mediator.pressure": p} for p in (0.0, 0.2, 0.4)]
    points.append({"mediator.pressure": 0.1, "mediator.item_minutes": 10})
    tasks = []
    for k, values in enumerate(points):
        tasks += chunk_tasks(with_values(JUNE, values), 300, 5, 200, (("point", k),),
                             prefix=f"point-{k:05d}")
    return tasks


def test_a_group_gives_each_chunk_its_own_part_and_tally():
    tasks = design_tasks()
    together = compute_group(ChunkGroup(tuple(tasks)))
    assert len(together) == len(tasks) == 8
    for task, outcome in zip(tasks, together, strict=True):
        alone = compute_chunk(task)
        assert outcome.results == alone.results, task.part  # byte for byte
        assert outcome.inputs is not None and outcome.inputs == alone.inputs, task.part
        assert outcome.failures is None and alone.failures is None
        # as text: a summary holds NaN (an event's spread across draws where none was
        # drawn), which equals nothing, itself included
        assert (json.dumps(outcome.tally.summary("x", 5), sort_keys=True)
                == json.dumps(alone.tally.summary("x", 5), sort_keys=True))


def test_only_setups_that_share_everything_else_run_together():
    tasks = design_tasks()
    keys = [shared_key(realise(t.scenario, 2, grouped.chunk_rng(0, 0))) for t in tasks]
    assert keys[0] == keys[2] == keys[5] and keys[6] != keys[0]  # the item time differs


def test_groups_hold_at_most_the_replicates_asked_for_in_task_order():
    tasks = design_tasks()
    made = list(groups(tasks, replicates=450))
    assert [t for g in made for t in g.tasks] == tasks
    assert [g.count for g in made] == [300, 300, 300, 300]
    assert [g.count for g in groups(tasks, replicates=100)] == [200, 100] * 4


def test_a_group_whose_model_raises_runs_chunk_by_chunk(monkeypatch):
    tasks = design_tasks()[:2]
    calls = []

    def failing_concat(setups):
        calls.append(len(setups))
        raise RuntimeError("a model error")

    monkeypatch.setattr(grouped.RoundSetup, "concat", staticmethod(failing_concat))
    together = compute_group(ChunkGroup(tuple(tasks)))
    assert calls == [2]
    assert [o.results for o in together] == [compute_chunk(t).results for t in tasks]


def test_a_sensitivity_study_writes_the_files_it_writes_chunk_by_chunk(tmp_path, monkeypatch):
    """The shipped sensitivity file, shrunk: its points grouped (as the command runs
    them) and chunk by chunk, the same parts (bytes)."""
    text = (ROOT / "experiments" / "june-20-30-2025-sensitivity.toml").read_text()
    text = text.replace('scenario = "../scenarios/', f'scenario = "{ROOT}/scenarios/')
    text = text.replace("base_samples = 1024", "base_samples = 2").replace(
        "replicates = 1000", "replicates = 150").replace("resamples = 500", "resamples = 10")
    study = tmp_path / "s.toml"
    study.write_text(text)
    outs = {}
    for mode in ("grouped", "chunk by chunk"):
        if mode == "chunk by chunk":  # what run_batch asks of the runner, ungrouped
            monkeypatch.setattr(batching, "run_tasks",
                                lambda tasks, folder, executor, runs, grouped:
                                runner.run_tasks(tasks, folder, executor, runs))
        out = tmp_path / mode.replace(" ", "-")
        assert main(["sensitivity", str(study), "--workers", "1", "--out", str(out)]) == 0
        outs[mode] = {p.name: p.read_bytes() for p in (out / "results").glob("*.parquet")}
    assert outs["grouped"] == outs["chunk by chunk"] and len(outs["grouped"]) == 12
