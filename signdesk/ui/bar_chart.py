"""Horizontal bar charts for the wizard: clips per gloss (stacked by split), accuracy per gloss (side by side).

A chart with more than ``MAX_CATEGORIES`` glosses is unreadable, so callers pick which glosses to show
(the thinnest, or the worst and best) and say so in the title; the tables beside the charts hold all.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QHorizontalStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

MAX_CATEGORIES = 40
ROW_PX = 18
PALETTE = ("#1f77b4", "#e8710a", "#2ca02c", "#9467bd", "#8c564b")


class BarChart(QChartView):
    """``set_data(categories, [(name, values), ...])``; stacked or grouped; an optional fixed maximum."""

    def __init__(self, title: str, accessible_name: str, parent: QWidget | None = None) -> None:
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAccessibleName(accessible_name)
        chart.setTitle(title)
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.categories: list[str] = []
        self.sets: list[tuple[str, list[float]]] = []
        self.setMinimumHeight(160)

    def set_title(self, title: str) -> None:
        self.chart().setTitle(title)

    def set_data(self, categories: Sequence[str], sets: Sequence[tuple[str, Sequence[float]]], *,
                 stacked: bool = False, maximum: float | None = None, value_title: str = "") -> None:
        chart = self.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        self.categories = [str(c) for c in categories][:MAX_CATEGORIES]
        self.sets = [(name, [float(v) for v in values][: len(self.categories)]) for name, values in sets]
        if not self.categories:
            return
        # Qt draws the first category at the bottom; reverse so the list reads top-down.
        order = list(reversed(range(len(self.categories))))
        series = QHorizontalStackedBarSeries() if stacked else QHorizontalBarSeries()
        for i, (name, values) in enumerate(self.sets):
            bar_set = QBarSet(name)
            bar_set.setColor(QColor(PALETTE[i % len(PALETTE)]))
            bar_set.setBorderColor(QColor(PALETTE[i % len(PALETTE)]))
            bar_set.append([values[j] for j in order])
            series.append(bar_set)
        chart.addSeries(series)
        y_axis = QBarCategoryAxis()
        y_axis.append([self.categories[j] for j in order])
        x_axis = QValueAxis()
        top = maximum if maximum is not None else max(
            [sum(v) for v in zip(*(vals for _, vals in self.sets), strict=True)] if stacked
            else [max(vals, default=0.0) for _, vals in self.sets] + [1.0])
        x_axis.setRange(0, max(float(top), 1.0))
        if maximum is None:
            x_axis.applyNiceNumbers()  # ticks on round counts (0, 2, 4, ... 10), not 0, 2.25, 4.5
        x_axis.setLabelFormat("%d")
        if value_title:
            x_axis.setTitleText(value_title)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(y_axis)
        series.attachAxis(x_axis)
        chart.legend().setVisible(len(self.sets) > 1)
        self.setMinimumHeight(110 + ROW_PX * len(self.categories) * (1 if stacked else max(1, len(self.sets))))
