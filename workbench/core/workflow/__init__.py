"""The whole conversion: the pipeline steps, the no-training baseline, the headless journey, the demo, the Qt-free
session model and the commands that drive it (window, command line and notebook alike).
"""

from workbench.core.workflow import commands as _commands  # noqa: F401 - registers the jobs the session's reactions start
