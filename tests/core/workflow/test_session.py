"""The Qt-free session model: runs with stable ids, the current run, renaming and removing, training blockers."""

from __future__ import annotations

import gc
from types import SimpleNamespace

from workbench.core.recipe import Recipe
from workbench.core.workflow.session import SessionModel


def _run(kind="trained", label="target"):
    recipe = Recipe().replace(**{"data.label": label})
    return SimpleNamespace(kind=kind, recipe=recipe, metrics={"test": {"accuracy": 0.5}},
                           loaded=SimpleNamespace(path="m.pt"))


def test_twenty_runs_keep_twenty_summaries_with_stable_ids():
    session = SessionModel()
    seen = []
    session.events.runs.connect(lambda runs: seen.append(len(runs)))
    for _ in range(20):
        session.set_run(_run())
        gc.collect()  # a freed run's id() may be reused; the session must not confuse them
    assert len(session.runs) == 20 and seen[-1] == 20
    ids = [r["id"] for r in session.runs]
    assert len(set(ids)) == 20 and [r["name"].split(":")[0] for r in session.runs] == [str(i) for i in range(1, 21)]


def test_current_run_is_picked_renamed_and_removed():
    session = SessionModel()
    first, second = _run(label="progression"), _run("baseline")
    session.set_run(first)
    session.set_run(second)
    assert session.run is second and "progression" in session.runs[0]["name"]
    current = []
    session.events.run.connect(current.append)
    first_id, second_id = (r["id"] for r in session.runs)
    session.select(first_id)
    assert session.run is first and current == [first]
    session.rename(first_id, "my best head")
    assert session.runs[0]["name"] == "my best head"
    session.set_run(first)  # recalibrated: the same entry, refreshed, keeps its name
    assert len(session.runs) == 2 and session.runs[0]["name"] == "my best head"
    session.remove(first_id)
    assert session.run is None and [r["id"] for r in session.runs] == [second_id]


def test_runs_read_back_keep_their_ids_and_live_runs_stay_live():
    session = SessionModel()
    run = _run()
    session.set_run(run)
    saved = [dict(r) for r in session.runs] + [{"id": "from-elsewhere", "name": "b"}, {"name": "c"}]
    session.set_runs(saved)
    ids = [r["id"] for r in session.runs]
    assert ids[:2] == [saved[0]["id"], "from-elsewhere"] and len(set(ids)) == 3
    assert session.run is run  # saved and reopened: still the live, current run
    session.set_runs([{"name": "other"}])
    assert session.run is None


def test_blockers_say_what_to_do_first():
    session = SessionModel()
    assert session.blockers() == ["open a regression checkpoint first", "choose labelled data first (Data tab)"]
    session.update(**{"train.epochs": 0})
    assert any(b.startswith("train.epochs") for b in session.blockers())


def test_unsaved_runs_are_known_until_saved():
    session = SessionModel()
    assert session.unsaved_runs() == []
    session.set_run(_run())
    assert len(session.unsaved_runs()) == 1
    session.mark_saved()
    assert session.unsaved_runs() == []
    session.rename(session.current, "renamed")
    assert session.unsaved_runs() == [session.current]
