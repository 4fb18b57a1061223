"""One inspectable step of a derivation: named equations with a LaTeX rendering."""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp


@dataclass(frozen=True)
class Step:
    """A derivation step: ``equations`` maps a label to a sympy object (Expr, Eq, Matrix)."""

    number: str
    title: str
    equations: tuple[tuple[str, object], ...]
    note: str = ""
    checks: tuple[tuple[str, bool], ...] = field(default=())

    def __getitem__(self, label: str):
        for key, val in self.equations:
            if key == label:
                return val
        raise KeyError(f"step {self.number} has no equation {label!r}; has {[k for k, _ in self.equations]}")

    def latex(self) -> str:
        lines = [f"\\textbf{{Step {self.number}: {self.title}}}"]
        if self.note:
            lines.append(f"\\text{{{self.note}}}")
        for key, val in self.equations:
            lines.append(f"{_label(key)}:\\quad {sp.latex(val)}")
        for key, ok in self.checks:
            lines.append(f"\\text{{check {key}: {'passed' if ok else 'FAILED'}}}")
        return " \\\\\n".join(lines)

    def text(self) -> str:
        lines = [f"Step {self.number}: {self.title}"]
        if self.note:
            lines.append(f"  {self.note}")
        for key, val in self.equations:
            lines.append(f"  {key} = {sp.sstr(val)}")
        for key, ok in self.checks:
            lines.append(f"  check {key}: {'passed' if ok else 'FAILED'}")
        return "\n".join(lines)

    def _repr_latex_(self) -> str:  # Jupyter
        return "$\\displaystyle " + self.latex().replace("\\\\\n", "\\\\ ") + "$"


def _label(key: str) -> str:
    return "\\mathrm{" + key.replace("_", "\\_").replace(" ", "\\ ") + "}"
