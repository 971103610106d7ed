"""What the window's menus and buttons do: small objects the window composes (opening files and data, training
and calibration, saving and reading files), each binding a widget action to core and drawing the result."""
