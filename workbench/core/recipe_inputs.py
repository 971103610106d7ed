"""The recipe's `data.inputs`: which table columns feed each input of a model whose forward takes several tensors,
written 'x_cat=city,weekday;x_cont=dist,hour' (one text field, so the command line, the form and recipe files
all hold it the same way). Parsing and its checks live here, beside recipe.py."""

from __future__ import annotations


def parse_inputs(text: str) -> dict[str, list[str]]:
    """{input name: columns} in the order written; '' gives {}. Malformed text raises ValueError."""
    out: dict[str, list[str]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, columns = part.partition("=")
        name = name.strip()
        cols = [c.strip() for c in columns.split(",") if c.strip()]
        if not sep or not name:
            raise ValueError(f"'{part}' is not name=column,column")
        if not cols:
            raise ValueError(f"the input '{name}' has no columns")
        if name in out:
            raise ValueError(f"the input '{name}' is given twice")
        out[name] = cols
    return out


def format_inputs(mapping: dict[str, list[str]]) -> str:
    return ";".join(f"{name}={','.join(cols)}" for name, cols in mapping.items())


def join_inputs(texts: dict[str, str]) -> str:
    """data.inputs from each input's comma-separated columns as typed; inputs left empty are left out."""
    return format_inputs({name: [c.strip() for c in text.split(",") if c.strip()]
                          for name, text in texts.items() if text.strip()})


def inputs_problems(text: str, label: str) -> list[tuple[str, str]]:
    """What is wrong with data.inputs on its own (the model and the table check the rest)."""
    try:
        mapping = parse_inputs(text)
    except ValueError as exc:
        return [("data.inputs", f"{exc}; write it as x_cat=col1,col2;x_cont=col3")]
    columns = [c for cols in mapping.values() for c in cols]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    out = []
    if twice:
        out.append(("data.inputs", f"feeds the column(s) {', '.join(twice)} to more than one input"))
    if label in columns:
        out.append(("data.inputs", f"feeds the label column '{label}' to the model, which would let it read the "
                                   "answer"))
    return out
