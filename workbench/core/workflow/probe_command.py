"""The Probe command: the probe sweep (evaluate.probe_sweep) on the session's model and data, as a job the window
runs off its thread and the command line runs in place; its result is the session's `probe_sweep`."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from workbench.core.workflow.jobs import Job, JobError

if TYPE_CHECKING:
    from workbench.core.evaluate.probe_sweep import ProbeSweep
    from workbench.core.workflow.session import SessionModel


class Probe(Job["ProbeSweep | None"]):
    """A linear probe at every layer the head can be attached at (None when stopped)."""

    kind = "probe"
    announces = True

    def __init__(self, session: SessionModel) -> None:
        if session.loaded is None:
            raise JobError("no model is open to probe.", "Open a regression checkpoint first.")
        data = session.require_data()  # the typed error behind the data's problem
        super().__init__(session, "Probing every layer …")
        self.recipe, self.loaded = session.recipe, session.loaded
        self.model = copy.deepcopy(session.loaded.model)  # moved to a device and put in eval mode while it runs
        self.data = dataclasses.replace(data)  # prepare_images records its normalisation on the copy

    def work(self, callbacks: Iterable[object] = ()) -> ProbeSweep | None:
        from workbench.core.evaluate.probe_sweep import sweep
        from workbench.core.open.layer_tree import inspect_model
        from workbench.core.train.train import pick_device
        from workbench.core.workflow.pipeline import model_input_shape, prepare_images

        prepare_images(self.data, self.recipe, self.model)
        self.data.augment = False
        shape = model_input_shape(self.recipe, self.loaded, self.data)
        assert shape is not None  # the data's own shape, at least
        head = inspect_model(self.model, shape).head
        return sweep(self.model, head, self.data.inputs, self.data.labels, list(self.data.classes), shape,
                     pick_device(self.recipe.train.device), lambda: self.stop.stopped)

    def commit(self, result: ProbeSweep | None) -> ProbeSweep | None:
        if result is not None:
            self.session.set_probe_sweep(result)
        return result
