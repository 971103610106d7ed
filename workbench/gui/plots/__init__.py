"""One module per plot (pyqtgraph): each draws what core computed and never computes a metric itself."""
