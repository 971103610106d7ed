"""`workbench inspect`: open a checkpoint (the session's OpenModel command) and print its layer tree and head."""

from __future__ import annotations

import json

from workbench.cli.options import _usage


def cmd_inspect(args) -> int:
    from workbench.core.workflow.commands import OpenModel
    from workbench.core.workflow.session import SessionModel

    session = SessionModel()
    loaded = OpenModel(session, args.checkpoint, args.model_source or None, args.model_args, args.input_shape,
                       args.mlp_activation, args.trust).run()
    if session.fit_error is not None:
        raise session.fit_error  # the shape given does not go through the model: its typed error
    found = session.inspection
    from workbench.core.open.multi_input import unknown_widths

    several = unknown_widths(loaded.model)
    if found is None and several is not None:
        raise several  # named inputs whose widths only data can give
    if found is None:
        from workbench.core.open.shape_hints import shape_example

        _usage(f"{args.checkpoint}: the input shape cannot be read from this model; give --input-shape "
               f"({shape_example(loaded.model)})")
    if args.json:
        print(json.dumps({"path": str(loaded.path), "format": loaded.format, "sha256": loaded.sha256,
                          "notes": loaded.notes, "note_details": [n.to_dict() for n in loaded.notes],
                          **found.to_dict()}, indent=2))
        return 0
    print(f"{loaded.path}  [{loaded.format}]")
    for note in loaded.notes:
        print(f"  note: {note}")
    print(f"input {found.input_shape} -> output {found.output_shape}")
    for spec in found.inputs:
        kind = f"category codes for embeddings of {spec['embeddings']} rows" if spec["codes"] else "values"
        print(f"  input {spec['name']}: {spec['width']} column(s), {kind}")
    print(f"{'layer':40s} {'type':18s} {'output':16s} {'params':>10s}  trainable")
    for layer in found.layers:
        shape_text = "x".join(map(str, layer.output_shape[1:])) if layer.output_shape else "-"
        role = f"  <- {layer.role}" if layer.role else ""
        print(f"{'  ' * layer.depth + layer.name:40s} {layer.type:18s} {shape_text:16s} {layer.params:10,d}  "
              f"{'yes' if layer.trainable else 'no':9s}{role}")
    head = found.head or "(the whole program; a new head goes on its output)"
    print(f"regression head: {head} ({found.head_in} -> {found.head_out})"
          + (f", followed by {', '.join(found.tail)} (removed on conversion)" if found.tail else ""))
    return 0
