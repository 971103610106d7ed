"""The window's tabs and the bar above them: each panel takes the session adapter, edits the recipe through it
and redraws from its signals. Panels never start jobs or write files: they emit, and the window acts."""
