"""The head and training form: every choice of the recipe, with problems explained next to their field."""

from __future__ import annotations

import html
import typing

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core import recipe as rc
from workbench.core.errors import for_window
from workbench.core.fields import base_type, takes_word
from workbench.core.recipe_unused import RULED_BY_TASK

from .. import theme
from ..tooltips import rich
from .auto_number import AutoNumber
from .choices import refuse_choices
from .number_box import NumberBox, WholeBox


def _spin(kind, spec) -> QSpinBox | QDoubleSpinBox:
    """A spin box with the field's range, and enough decimals that a typed value is kept as typed."""
    is_float = base_type(kind) is float
    box = NumberBox() if is_float else WholeBox()
    low = spec.low if spec.low is not None else 0
    high = spec.high if spec.high is not None else (1e9 if is_float else 2**31 - 1)
    if isinstance(box, QDoubleSpinBox):
        box.setDecimals(spec.decimals)
        tick = 10.0 ** -spec.decimals
        box.setRange(low + (tick if spec.low_open and not spec.none_label else 0),
                     high - (tick if spec.high_open else 0))
        box.setSingleStep(spec.step)
        if spec.none_label:  # its lowest value, 0, stands for None: say so ("off"), not "0.000"
            box.setSpecialValueText(spec.none_label)
    else:
        box.setRange(int(low), int(min(high, 2**31 - 1)))
        box.setSingleStep(int(spec.step))
    return box


FIELD_WIDTH = {"QLineEdit": 420, "QComboBox": 320, "AutoNumber": 300, "other": 240}  # pixels, at most
BASELINE_TIP = ("Platt-calibrate the regression output itself: a binary classifier in seconds, with no gradient "
                "step, to compare trained heads against.")


class TrainingForm(QWidget):
    """The recipe's settings as a form generated from the recipe's field descriptions, with checks."""

    train_requested = Signal()
    baseline_requested = Signal()

    def __init__(self, session, devices: list[str], parent=None):
        super().__init__(parent)
        self.session = session
        self._updating = False
        self.errors: dict[str, QLabel] = {}
        self.widgets: dict[str, QWidget] = {}
        self._tips: dict[str, str] = {}  # each field's own tooltip, before a "Not used now" reason
        self._labels: dict[str, QWidget | None] = {}
        self.auto_balance = QCheckBox("Balance the loss when the classes are imbalanced")
        self.auto_balance.setObjectName("autoBalance")
        self.auto_balance.setChecked(True)
        self.auto_balance.toggled.connect(self._on_auto_balance)
        self.balance = QPushButton("Propose from class counts")
        self.balance.setMaximumWidth(FIELD_WIDTH["QComboBox"])
        self.balance.clicked.connect(self._propose_weights)
        self.imbalance = QLabel()
        self.imbalance.setWordWrap(True)
        theme.style(self.imbalance, "color: {warning}")
        after = {"train.class_weights": (self.auto_balance, self.balance, self.imbalance)}
        boxes = {}
        for name, (kind, spec) in rc.FIELDS.items():
            if not spec.group:
                continue
            if spec.group not in boxes:
                boxes[spec.group] = QGroupBox(spec.group)
                QFormLayout(boxes[spec.group])
            form = typing.cast(QFormLayout, boxes[spec.group].layout())
            self._add(form, name, spec.label + ":", self._widget(name, kind, spec, devices))
            self.widgets[name].setToolTip(spec.help[:1].upper() + spec.help[1:] + ".")
            for extra in after.get(name, ()):
                form.addRow("", extra)
        typing.cast(QLineEdit, self.widgets["train.class_weights"]).setPlaceholderText(
            "comma-separated, one per class; empty = equal")
        amp = self.widgets["train.mixed_precision"]
        amp.setToolTip("torch autocast: bfloat16 where the GPU has it, else float16 with a gradient scaler. "
                       "Often 2-3x faster for image models on a GPU; no effect on the cpu.")
        if "cuda" not in devices:  # left enabled: a recipe from a GPU machine must be able to turn it off here
            amp.setToolTip(amp.toolTip() + " No CUDA GPU here: with device auto it has no effect.")
        head, loss, opt = boxes["Head"], boxes["Loss"], boxes["Training"]

        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(head)
        left.addWidget(loss)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(opt)
        self.images_box = boxes["Images"]
        right.addWidget(self.images_box)  # normalisation, resize and augmentation of image folders
        left.insertWidget(2, boxes["Decisions"])  # also on the Evaluate tab's Decisions box, with their results
        right.addStretch(1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        page = QWidget()  # the groups scroll on a small screen; Train and Baseline stay in view
        page.setLayout(columns)
        scroll = QScrollArea()
        scroll.setObjectName("formScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(self._buttons())
        session.recipe_changed.connect(self._on_recipe_changed)
        session.inspection_changed.connect(self._on_inspection_changed)
        session.data_changed.connect(self._on_data_changed)
        session.model_changed.connect(lambda _m: self._refresh_state())
        session.busy_changed.connect(self._on_busy_changed)
        self._on_recipe_changed(session.model.recipe)

    def _buttons(self) -> QHBoxLayout:
        """Train, Baseline and the reason they are greyed, under the scrolling groups."""
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("formTrainButton")
        self.train_button.clicked.connect(self.train_requested)
        self.baseline_button = QPushButton("Baseline (no training)")
        self.baseline_button.setObjectName("baselineButton")
        self.baseline_button.setToolTip(BASELINE_TIP)
        self.baseline_button.clicked.connect(self.baseline_requested)
        self.reason = QLabel()
        self.reason.setObjectName("trainReason")
        self.reason.setWordWrap(True)
        theme.style(self.reason, "color: {error}")
        bottom = QHBoxLayout()
        bottom.addWidget(self.train_button)
        bottom.addWidget(self.baseline_button)
        bottom.addWidget(self.reason, 1)
        return bottom

    def _widget(self, name: str, kind, spec, devices: list[str]) -> QWidget:
        """The widget a field's description calls for; the freeze and device lists depend on the session."""
        if name == "head.freeze":
            return self._combo(("none", "body"))
        if name == "model.cut_at":  # the open model's layers (empty: the whole body), filled on inspection
            return self._combo(("",))
        if name == "train.device":
            return self._combo(tuple(devices))
        if takes_word(kind):
            return AutoNumber(_spin(kind, spec), spec.choices[0])
        if spec.choices:
            return self._combo(spec.choices)
        if base_type(kind) is bool:
            return QCheckBox()
        if typing.get_origin(base_type(kind)) is tuple or base_type(kind) is str:
            return QLineEdit()
        return _spin(kind, spec)

    def _combo(self, items) -> QComboBox:
        box = QComboBox()
        box.addItems(list(items))
        return box

    def _add(self, form: QFormLayout, field: str, label: str, widget: QWidget) -> None:
        self.widgets[field] = widget
        # On a wide screen a field stays the width its values need (a number, a choice), not half the screen
        widget.setMaximumWidth(FIELD_WIDTH.get(type(widget).__name__, FIELD_WIDTH["other"]))
        error = QLabel()
        theme.style(error, "color: {error}")
        error.setWordWrap(True)
        error.hide()
        self.errors[field] = error
        cell = QVBoxLayout()
        cell.setSpacing(0)
        cell.addWidget(widget)
        cell.addWidget(error)
        form.addRow(label, cell)
        self._labels[field] = form.labelForField(cell)  # greyed with its field when the field is not used
        widget.setObjectName(field.replace(".", "_"))
        if isinstance(widget, QComboBox):
            widget.currentTextChanged.connect(lambda v, f=field: self._changed(f, v))
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda v, f=field: self._changed(f, v))
        elif isinstance(widget, QLineEdit):
            widget.editingFinished.connect(lambda f=field, w=widget: self._changed(f, w.text()))
        else:
            number = typing.cast("QSpinBox | QDoubleSpinBox | AutoNumber", widget)
            number.valueChanged.connect(lambda v, f=field: self._changed(f, v))

    def _changed(self, field: str, value) -> None:
        if self._updating:
            return
        if isinstance(self.widgets[field], QLineEdit):
            self.session.model.set_field_text(field, value)  # a list that does not read blocks Train, said below it
            return
        if rc.FIELDS[field][1].none_label:  # 0 stands for None (e.g. no pos_weight, no refer band)
            value = value or None
        self.session.model.set_field(field, value)

    def _on_data_changed(self, data):
        # Image settings mean nothing for a table: greyed, saying why, rather than silently ignored.
        tabular = data is not None and not getattr(data, "images", False)
        self.images_box.setEnabled(not tabular)
        self.images_box.setToolTip("These apply to image folders; the data open is a table." if tabular else "")
        self._refresh_state()

    def _on_auto_balance(self, on: bool):
        self.session.model.set_auto_balance(on)  # core applies the proposal on every data change while on

    def _propose_weights(self):
        self.session.model.apply_balance(skew=1.0)

    def _on_inspection_changed(self, inspection):
        box: QComboBox = self.widgets["head.freeze"]
        self._updating = True
        current = box.currentText()
        box.clear()
        box.addItems(["none", "body"])
        box.addItems([f"upto:{name}" for name in self.session.model.freezable()])
        box.setCurrentText(current if box.findText(current) >= 0 else self.session.model.recipe.head.freeze)
        cut: QComboBox = self.widgets["model.cut_at"]
        cut.clear()
        cut.addItems([""] + [layer.name for layer in (inspection.layers if inspection else [])
                             if layer.depth and not layer.role])
        cut.setCurrentText(self.session.model.recipe.model.cut_at)
        self._updating = False
        self._refresh_state()

    def _on_recipe_changed(self, recipe):
        self._updating = True
        for field, widget in self.widgets.items():
            part, _, name = field.partition(".")
            value = getattr(getattr(recipe, part), name) if name else getattr(recipe, part)
            if isinstance(widget, QComboBox):
                if widget.findText(str(value)) < 0:
                    widget.addItem(str(value))
                widget.setCurrentText(str(value))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QLineEdit):
                if field not in self.session.model.unparsed:  # what was typed stays, beside why it does not read
                    widget.setText(value if isinstance(value, str) else ", ".join(f"{v:g}" for v in value))
            else:
                widget.setValue(value or 0)
        self._updating = False
        self._refresh_state()

    def _on_busy_changed(self, busy):
        self.balance.setEnabled(not busy)
        self.auto_balance.setEnabled(not busy)
        self._refresh_state()

    def blockers(self) -> list[str]:
        """Why Train is disabled (empty when it is enabled), fields named by their labels; the rules are core's."""
        return self.session.model.blockers_in_words()

    def _why_no_baseline(self) -> str:
        """Why the baseline cannot be fitted now, in core's words ("" when it can): its command checks the session
        when it is made, and making one starts nothing."""
        from workbench.core.workflow.run_commands import baseline_problem

        exc = baseline_problem(self.session.model)
        return "" if exc is None else exc.window_problem or for_window(str(exc))

    def _grey_unused(self) -> None:
        """Fields the recipe's other choices ignore are greyed, saying why (core's recipe_unused); all are greyed
        while a job runs."""
        from workbench.core.recipe_unused import unused_fields

        busy, unused = self.session.model.busy, unused_fields(self.session.model.recipe)
        for field, widget in self.widgets.items():
            widget.setEnabled(not busy and field not in unused)
            if (label := self._labels.get(field)) is not None:
                label.setEnabled(field not in unused)
            tip = self._tips.setdefault(field, widget.toolTip())
            reason = f"<p><b>Not used now</b>: {html.escape(unused[field])}.</p>" if field in unused else ""
            widget.setToolTip(reason + rich(tip) if reason else tip)
            if field in RULED_BY_TASK and isinstance(widget, QComboBox):  # lists the head's task rules choices out of
                refuse_choices(widget, self.session.model.recipe, field)

    def _refresh_state(self):
        self._grey_unused()
        problems = dict(self.session.model.field_problems())
        for field, label in self.errors.items():
            label.setText(problems.get(field, ""))
            label.setVisible(field in problems)
        self.imbalance.setText("")
        self.auto_balance.blockSignals(True)
        self.auto_balance.setChecked(self.session.model.auto_balance)
        self.auto_balance.blockSignals(False)
        found = self.session.model.balance_proposal()
        if found is not None and found.weights:
            applied = found.in_use
            shown = {k: (", ".join(f"{w:g}" for w in v) if isinstance(v, tuple) else v)
                     for k, v in found.weights.items()}
            self.imbalance.setText(f"The classes are imbalanced ({', '.join(map(str, found.counts))} in train). "
                                   f"Proposed: {', '.join(f'{k} = {v}' for k, v in shown.items())}"
                                   + (" — in use; untick the box above to train without it." if applied else
                                      " — not in use; tick the box above to use it."))
        blockers = self.blockers()
        self.train_button.setEnabled(not blockers)
        why_not = self._why_no_baseline()
        self.baseline_button.setEnabled(not why_not)
        self.baseline_button.setToolTip(why_not[:1].upper() + why_not[1:] if why_not else BASELINE_TIP)
        self.reason.setText("Cannot train: " + for_window(blockers[0]) if blockers else "")
