"""Training a head, fitting the no-training baseline, and the commands on a run (calibrate, set the threshold,
rebin): each is core's command, run by the window on a worker; the session is busy while one that locks it is in
flight (the runner begins and ends it), and pause and stop act on the command's stop token through the runner.
A training's progress reaches the Train tab as the worker's signals."""

from __future__ import annotations

from .host import Host


class Training:
    """Train, baseline, calibrate, threshold, rebin, pause and stop."""

    def __init__(self, host: Host):
        self.host = host

    @property
    def model(self):
        return self.host.session.model

    def start_training(self) -> None:
        """Train a new head with the session's recipe, streaming progress to the Train tab."""
        from workbench.core.workflow.run_commands import Train

        if self.host.command(lambda: Train(self.model, leave_a_core=True)) is not None:
            self.host.show_workspace(3)
            self.host.statusBar().showMessage("Training…")

    def wire_progress(self, job, worker) -> None:
        """A training's hooks, which the worker turns into signals, drawn by the Train tab."""
        if job.kind == "train":
            panel = self.host.show_workspace().train_panel
            worker.begun.connect(panel.on_begin)
            worker.batch.connect(panel.on_batches)
            worker.epoch.connect(panel.on_epoch)

    def start_baseline(self) -> None:
        """Fit the no-training baseline (the regression output, Platt-calibrated) as a run."""
        from workbench.core.workflow.run_commands import Baseline

        if self.host.command(lambda: Baseline(self.model), on_done=lambda _run: self.host.show_workspace(4)):
            self.host.statusBar().showMessage("Fitting the no-training baseline…")

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
        """Refit the picked run's calibration with `method`."""
        from workbench.core.workflow.run_commands import Calibrate

        self.host.command(lambda: Calibrate(self.model, method))

    def set_threshold(self, threshold: float) -> None:
        """The picked binary run's decision threshold; its metrics follow."""
        from workbench.core.workflow.run_commands import SetThreshold

        self.host.command(lambda: SetThreshold(self.model, threshold))

    def rebin(self, binning: str) -> None:
        """The picked run's reliability diagram and ECE with equal-width or equal-mass bins."""
        from workbench.core.workflow.run_commands import Rebin

        self.host.command(lambda: Rebin(self.model, binning))
