"""The Qt binding itself must keep reference counts balanced when signals are emitted, or the app dies at
random after a few thousand emits (PySide6-Essentials 6.12.0 on Python 3.11 does; pyproject excludes it)."""

import subprocess
import sys

CHECK = r"""
import sys, threading
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot
app = QCoreApplication([])
class Sink(QObject):
    @Slot(object)
    def take(self, value):
        pass
class Source(QObject):
    fired = Signal(object)
    def burst(self, n):
        for i in range(n):
            self.fired.emit(i)
source, sink = Source(), Sink()
source.fired.connect(sink.take)
before = sys.getrefcount(True), sys.getrefcount(None)
source.burst(20000)
worker = threading.Thread(target=source.burst, args=(20000,))
worker.start(); worker.join()
app.processEvents()
after = sys.getrefcount(True), sys.getrefcount(None)
print(after[0] - before[0], after[1] - before[1])
"""


def test_signal_emits_keep_reference_counts_balanced():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the Qt binding crashed emitting signals: {done.stderr[-400:]}"
    true_delta, none_delta = map(int, done.stdout.split())
    assert true_delta > -100 and none_delta > -100, (true_delta, none_delta)


def test_cyclic_garbage_from_a_worker_thread_is_collected_on_the_gui_thread(window, qtbot):
    """A collection triggered on a worker can destroy Qt objects there and deadlock the window."""
    import gc
    import threading

    assert not gc.isenabled()
    on_gui_thread = []

    class Node:
        def __del__(self):
            on_gui_thread.append(threading.current_thread() is threading.main_thread())

    def churn():
        node = Node()
        node.me = node  # a cycle: only the cyclic collector frees it
        del node
        for _ in range(100_000):  # far past the threshold at which automatic collection would run here
            loop = []
            loop.append(loop)

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(on_gui_thread), timeout=5000)
    assert on_gui_thread == [True]
