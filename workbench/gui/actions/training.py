"""Training a head, fitting the no-training baseline and recalibrating a run, each a job in the JobRunner's
`train` or `calibrate` slot that locks the forms while it is in flight (the runner owns busy and the stop
token: pause, resume and stop go through it). A finished job's run is committed to the session on the GUI
thread; the Train tab draws the live curves from the worker's signals."""

from __future__ import annotations

from .host import Host


class Training:
    """Train, baseline, calibrate, pause and stop; what happens when a run lands."""

    def __init__(self, host: Host):
        self.host = host

    @property
    def model(self):
        return self.host.session.model

    def start_training(self) -> None:
        """Train a new head with the form's recipe on a worker, streaming progress to the Train tab."""
        from workbench.core.errors import WorkbenchError
        from workbench.core.recipe import validate
        from workbench.core.train.threads import call_leaving_a_core
        from workbench.core.workflow.pipeline import train_run

        m, host = self.model, self.host
        blockers = m.blockers()
        if blockers:
            host.statusBar().showMessage("Cannot train: " + blockers[0])
            return
        try:
            recipe = validate(m.recipe)
        except WorkbenchError as exc:
            host.show_error(exc)
            return
        panel = host.show_workspace(3).train_panel

        def wire(job):
            job.begun.connect(panel.on_begin)
            job.batch.connect(panel.on_batches)
            job.epoch.connect(panel.on_epoch)

        host.statusBar().showMessage("Training…")
        host.jobs.start(call_leaving_a_core, train_run, recipe, m.loaded, m.data, slot="train", locks=True,
                        stoppable=True, callbacks=True, setup=wire, on_done=self._on_trained, on_error=host.show_error)

    def start_baseline(self) -> None:
        """Fit the no-training baseline (the regression output, Platt-calibrated) as a run."""
        from workbench.core.workflow.baseline import baseline_run

        m = self.model
        if m.loaded is None or m.data is None or self.host.jobs.busy:
            return
        self.host.statusBar().showMessage("Fitting the no-training baseline…")
        self.host.jobs.start(baseline_run, m.recipe, m.loaded, m.data, slot="train", locks=True,
                             on_done=lambda run: self._on_trained(run, tab=4), on_error=self.host.show_error)

    def _on_trained(self, run, tab: int | None = None) -> None:
        self.model.set_run(run)
        if tab is not None:
            self.host.show_workspace(tab)

    def pause(self, paused: bool) -> None:
        """Pause or resume the training between batches."""
        self.host.jobs.pause("train", paused)

    def stop(self, wait: bool = False) -> bool:
        """Ask the running training to stop after its current batch, keeping its best epoch; True if one was."""
        stopped = self.host.jobs.stop("train")
        if stopped and wait:
            self.host.jobs.wait()
        return stopped

    def calibrate(self, method: str) -> None:
        """Refit the current run's calibration with `method` and show the new metrics."""
        from workbench.core.workflow.pipeline import calibrate_run

        if self.model.run is None:
            return

        def done(run):
            self.model.update(calibration=method)  # a saved recipe reproduces what is shown
            self.model.set_run(run)

        self.host.jobs.start(calibrate_run, self.model.run, method, slot="calibrate", locks=True, on_done=done)
