"""What a command loads before it works: Mesa's core without its spaces and networks,
no matplotlib for a run without figures, and the engine compiled once per machine, said
on screen (numba's disk cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.chunks import chunk_rng, compile_engine, outcome_frame, run_chunk
from sim.batch.sizes import COMPILED_FROM, compiled_for
from sim.cli import batching, main
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[1]
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"


def python(code: str, **env) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True, env=None if not env else env)
    return done.stdout


def test_the_model_loads_mesa_s_core_only_and_the_rest_on_demand():
    out = json.loads(python(
        "import json, sys\n"
        "import sim.model.round\n"
        "before = sorted(m for m in ('networkx', 'scipy.spatial', 'mesa.discrete_space',"
        " 'mesa.batchrunner', 'matplotlib') if m in sys.modules)\n"
        "import mesa\n"
        "core = [mesa.Model is sim.model.round.NegotiationRound.__mro__[1]]\n"
        "from mesa import DataCollector, batch_run\n"  # the rest of Mesa, when asked for
        "import mesa.experimental\n"
        "print(json.dumps({'before': before, 'core': core, 'after': 'networkx' in sys.modules,"
        " 'devs': hasattr(mesa.experimental, 'devs'), 'name': DataCollector.__name__}))"))
    assert out == {"before": [], "core": [True], "after": True, "devs": True,
                   "name": "DataCollector"}


def test_mesa_s_logging_names_what_it_names_when_mesa_is_imported_whole():
    """``mesa_core`` lets Mesa's logging find its callers without reading source lines;
    the module logger and the class a method's log names are those of ``import mesa``,
    and Mesa's logging has the real ``inspect`` back afterwards."""
    code = ("{first}\nimport inspect, mesa, mesa.mesa_logging as log\n"
            "f = mesa.Model.__init__\n"
            "cells = {{c: str(v.cell_contents) for c, v in zip(f.__code__.co_freevars,"
            " f.__closure__) if c != 'func'}}\n"
            "print(sorted(log._module_loggers), cells, log.inspect is inspect)")
    ours = python(code.format(first="import sim.model.round"))
    plain = python(code.format(first=""))
    assert ours == plain and "'classname': 'Model'" in ours and ours.strip().endswith("True")


def test_mesa_imported_first_is_used_as_it_is():
    out = python("import mesa, sys\nimport sim.model.round\n"
                 "print(hasattr(mesa, 'DataCollector'), 'networkx' in sys.modules)")
    assert out.split() == ["True", "True"]


def test_a_run_without_figures_does_not_load_matplotlib(tmp_path):
    out = python(
        "import sys\nfrom sim.cli import main\n"
        f"code = main(['run', {str(JUNE)!r}, '--runs', '3', '--workers', '1', '--no-plots', "
        f"'--out', {str(tmp_path / 'out')!r}])\n"
        "print('RESULT', code, 'matplotlib' in sys.modules, 'networkx' in sys.modules)")
    assert out.splitlines()[-1] == "RESULT 0 False False"


def test_the_first_batch_compiles_the_engine_once_and_says_so(tmp_path, monkeypatch, capsys):
    """Where numba's cache has no machine code, the command compiles it before any chunk
    (the pool's workers then load it) and says so once; where it has, it says nothing.
    A batch of one chunk below ``COMPILED_FROM`` runs on the numpy engine and compiles
    nothing; one of two chunks, however small, does (they may go to a pool)."""
    compiled = []
    monkeypatch.setattr(batching, "engine_compiled", lambda: bool(compiled))
    monkeypatch.setattr(batching, "compile_engine", lambda scenario: compiled.append(scenario))
    small = str(COMPILED_FROM - 1)
    assert main(["run", str(JUNE), "--runs", small, "--workers", "1", "--no-plots",
                 "--out", str(tmp_path / "small")]) == 0
    assert not compiled and "compiling" not in capsys.readouterr().err
    for k, runs in enumerate([str(COMPILED_FROM), small]):
        assert main(["run", str(JUNE), "--runs", runs, "--workers", "1", "--no-plots",
                     "--out", str(tmp_path / str(k))]) == 0
    assert main(["run", str(JUNE), "--runs", "4", "--chunk-size", "2", "--workers", "1",
                 "--no-plots", "--out", str(tmp_path / "two")]) == 0
    err = capsys.readouterr().err
    assert err.count("compiling the engine (once)...") == 1 and len(compiled) == 1


def test_a_small_run_loads_neither_numba_nor_scipy_nor_pandas():
    """``negsim run --runs 1``: one chunk below ``COMPILED_FROM`` runs on the numpy engine
    (no numba to import and load), one parameter draw needs no beta quantile (no
    scipy.special), and the chunk's part is written from numpy columns (no pandas)."""
    out = python(
        "import sys, tempfile\nfrom sim.cli import main\n"
        "out = tempfile.mkdtemp() + '/out'\n"
        f"code = main(['run', {str(JUNE)!r}, '--runs', '1', '--no-plots', '--out', out])\n"
        "print('RESULT', code, 'numba' in sys.modules, 'scipy.special' in sys.modules,"
        " 'pandas.core.frame' in sys.modules)")
    assert out.splitlines()[-1] == "RESULT 0 False False False"


def test_pandas_put_off_is_pandas_when_used():
    """After the model's import has put pandas off, ``import pandas`` gives a module
    that is pandas at its first use: its names are pandas', ``sys.modules`` then holds
    pandas itself, and a submodule imports. Where pandas was imported first, it is
    left as it is."""
    out = python(
        "import sys\nimport sim.model.round\n"
        "print('deferred', 'pandas.core.frame' not in sys.modules)\n"
        "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2]})\n"
        "import pandas.api.types as types\n"
        "real = sys.modules['pandas']\n"
        "print('used', int(frame['a'].sum()), pd.__version__ == real.__version__,"
        " type(real).__name__, pd.DataFrame is real.DataFrame,"
        " types.is_integer_dtype(frame['a']))\n")
    assert out.splitlines() == ["deferred True", "used 3 True module True True"]
    first = python("import pandas, sys\nimport sim.model.round\n"
                   "print(sys.modules['pandas'] is pandas)")
    assert first.strip() == "True"


@pytest.mark.parametrize("count", [1, 37, COMPILED_FROM - 1])
def test_a_small_chunk_gives_the_compiled_engine_s_rows(count):
    """The numpy engine's rows for a small chunk are the compiled engine's, to the bit."""
    scenario = load_scenario(JUNE)
    small = run_chunk(scenario, 3, 2, 100, count)
    setup = realise(scenario, count, chunk_rng(3, 2), compiled=True)
    rows = outcome_frame(NegotiationRound(setup, compiled=True).run().outcomes(),
                         np.arange(100, 100 + count), 3, 2, setup.draw_id)
    assert not compiled_for(count)
    pd.testing.assert_frame_equal(small, rows, check_exact=True)


def test_the_engine_s_machine_code_is_cached_on_disk():
    out = python("from sim.batch.chunks import compile_engine, engine_compiled\n"
                 "from sim.scenario.load import load_scenario\n"
                 f"compile_engine(load_scenario({str(JUNE)!r}))\n"
                 "print(engine_compiled())")
    assert out.split()[-1] == "True"


def test_the_fork_server_s_preload_loads_the_machine_code_without_running_a_round():
    """``sim.batch.warm`` (what a pool's fork server imports before forking workers)
    loads the cached machine code of the kernels Python calls, so that a worker has it
    from its start; nothing is run. (The cache exists here: the test command compiles
    the engine before the tests, and the test above.)"""
    from sim.batch.executors.local import PRELOAD

    assert PRELOAD == ("sim.batch.warm",)
    compile_engine(load_scenario(JUNE))  # the cache, whichever test ran first
    out = python("import sim.batch.warm\n"
                 "from sim.model import compiled, compiled_round\n"
                 "print(len(compiled_round.run_replicates.overloads),"
                 " len(compiled._zones_and_nash.overloads),"
                 " len(compiled._compound_levels.overloads),"
                 " len(compiled._plain_positions.overloads))")
    assert [int(n) for n in out.split()] == [1, 1, 1, 1]


def test_compile_engine_compiles_the_compound_level_kernel_for_any_scenario():
    """A scenario with no compound issue (river basin) never calls
    ``compiled.compound_levels``; ``compile_engine`` compiles it all the same, with the
    types ``realise`` gives it (one signature after both), so that a later batch of a
    compound scenario finds it compiled instead of each worker compiling it. The plain
    issues' positions kernel too: one signature after both."""
    river = ROOT / "scenarios" / "river-basin.toml"
    assert not any(issue.compound for issue in load_scenario(river).agenda_issues)
    out = python("from sim.batch.chunks import chunk_rng, compile_engine\n"
                 "from sim.model import compiled\n"
                 "from sim.model.parameters import realise\n"
                 "from sim.scenario.load import load_scenario\n"
                 f"compile_engine(load_scenario({str(river)!r}))\n"
                 "print(len(compiled._compound_levels.signatures),"
                 " len(compiled._plain_positions.signatures))\n"
                 f"realise(load_scenario({str(JUNE)!r}), 3, chunk_rng(0, 0), compiled=True)\n"
                 "print(len(compiled._compound_levels.signatures),"
                 " len(compiled._plain_positions.signatures))\n")
    assert out.split() == ["1", "1", "1", "1"]


def test_the_machine_code_cache_is_keyed_on_every_module_the_kernels_read():
    """Numba checks only a cached function's own file: the cache directory is named by
    a digest of the engine's sources (``compiled_rules.ENGINE_SOURCES``), so every
    module of ``sim.model`` that a compiled module imports (rules it calls, constants
    it freezes) must be among them, and a change to any of them moves the cache."""
    import ast

    from sim.model import compiled_rules

    model_dir = Path(compiled_rules.__file__).parent
    read = set()
    for path in model_dir.glob("compiled*.py"):
        read.add(path.name)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim.model"):
                names = ([node.module.rsplit(".", 1)[1]] if node.module != "sim.model"
                         else [alias.name for alias in node.names])
                read.update(f"{name}.py" for name in names)
    assert read <= set(compiled_rules.ENGINE_SOURCES)
    assert Path(compiled_rules.CACHE_DIR).name.startswith("negsim-engine-")
    code = ("import sys; sys.path.insert(0, {root!r}); from sim.model import compiled_rules; "
            "print(compiled_rules.CACHE_DIR)")
    root = str(model_dir.parent.parent)
    env = os.environ | {"NUMBA_CACHE_DIR": "/tmp/negsim-test-cache"}
    shown = subprocess.run([sys.executable, "-c", code.format(root=root)], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert shown == os.path.join("/tmp/negsim-test-cache", Path(compiled_rules.CACHE_DIR).name)


def test_a_worker_keeps_freed_memory_for_its_next_chunk_where_glibc_allows():
    """A worker's later chunks reuse the memory its first ones freed: once three June
    chunks of 16,384 have run (the heap grows over them), the next two fault in almost
    no page between them (counted by the kernel, ``ru_minflt``; measured: 2 to 40). With
    the heap's free top trimmed above 32 MiB, as before, each faulted about 6,350 pages
    back in; with neither setting, more."""
    import platform

    from sim.batch.memory import keep_freed_memory

    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the C library's own allocator")
    faults = int(python(
        "import resource\n"
        "from sim.batch.chunks import compute_chunk, ChunkTask\n"
        "from sim.scenario.load import load_scenario\n"
        f"scenario = load_scenario({str(JUNE)!r})\n"
        "def chunk(k):\n"
        "    compute_chunk(ChunkTask(scenario, 0, k, 16384 * k, 16384, f'part-{k}'))\n"
        "chunk(0); chunk(1); chunk(2)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "chunk(3); chunk(4)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"))
    assert faults < 500
