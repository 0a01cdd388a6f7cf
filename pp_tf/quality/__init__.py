"""Image-quality measures that see what people see, and the quality gate of `protect`.

One module each: `ssimulacra2` (full-reference, fitted to human opinion scores), `gmsd`
(structure kept), `color_undo` (the global colour map undone before either is scored),
`brisque` (no-reference naturalness, with the LIVE-trained model it ships) and `gate`
(the per-photo floor `protect` holds every method to). `measures` puts them together as
`evaluate` and `protect` report them.
"""
