"""The fine-tune page's live chart: training loss and validation top-1 accuracy against the step (QtCharts).

Points arrive a few at a time from the job's events. The chart keeps at most ``MAX_POINTS`` per line:
when a long run goes past that, every other point is dropped (the shape stays, the cost stays bounded).
"""

from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QScatterSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

MAX_POINTS = 2000
LOSS_COLOR = QColor("#1f77b4")
ACC_COLOR = QColor("#e8710a")


class TrainingChart(QChartView):
    """Loss (left axis) and validation top-1 in % (right axis) over optimizer steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setAccessibleName("Training chart: loss and validation accuracy")
        chart.setTitle("Training loss and validation accuracy")
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.loss_series = QLineSeries()
        self.loss_series.setName("training loss")
        self.loss_series.setPen(QPen(LOSS_COLOR, 2))
        self.acc_series = QLineSeries()
        self.acc_series.setName("validation top-1 (%)")
        self.acc_series.setPen(QPen(ACC_COLOR, 2))
        self.acc_marks = QScatterSeries()
        self.acc_marks.setColor(ACC_COLOR)
        self.acc_marks.setBorderColor(ACC_COLOR)
        self.acc_marks.setMarkerSize(8)
        for series in (self.loss_series, self.acc_series, self.acc_marks):
            chart.addSeries(series)
        chart.legend().markers(self.acc_marks)[0].setVisible(False)
        self.x_axis = QValueAxis()
        self.x_axis.setTitleText("step")
        self.x_axis.setLabelFormat("%d")
        self.loss_axis = QValueAxis()
        self.loss_axis.setTitleText("loss")
        self.loss_axis.setLabelFormat("%.1f")
        self.loss_axis.setLinePenColor(LOSS_COLOR)
        self.acc_axis = QValueAxis()
        self.acc_axis.setTitleText("val top-1 %")
        self.acc_axis.setRange(0, 100)
        self.acc_axis.setLabelFormat("%d")
        self.acc_axis.setLinePenColor(ACC_COLOR)
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.loss_axis, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(self.acc_axis, Qt.AlignmentFlag.AlignRight)
        for series in (self.loss_series, self.acc_series, self.acc_marks):
            series.attachAxis(self.x_axis)
        self.loss_series.attachAxis(self.loss_axis)
        self.acc_series.attachAxis(self.acc_axis)
        self.acc_marks.attachAxis(self.acc_axis)
        self.losses: list[tuple[float, float]] = []
        self.accuracies: list[tuple[float, float]] = []
        self.history: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
        self.total_steps = 0
        self.setMinimumHeight(240)
        self.clear()

    def clear(self) -> None:
        self.losses.clear()
        self.accuracies.clear()
        self.history = ([], [])
        self.total_steps = 0
        self._redraw()

    def set_history(self, losses: list[tuple[float, float]], accuracies: list[tuple[float, float]]) -> None:
        """Points of the earlier runs a resumed run continues; drawn up to where the current run starts."""
        self.history = ([(float(s), float(v)) for s, v in losses],
                        [(float(s), 100.0 * float(v)) for s, v in accuracies])
        self._redraw()

    def set_total_steps(self, steps: int) -> None:
        self.total_steps = max(int(steps), 0)
        self._update_axes()

    def add_points(self, losses: list[tuple[float, float]], accuracies: list[tuple[float, float]]) -> None:
        """Append (step, loss) and (step, top-1 in 0..1) points; one redraw for the whole batch."""
        good = [(float(s), float(v)) for s, v in losses if v is not None and math.isfinite(v)]
        accs = [(float(s), 100.0 * float(v)) for s, v in accuracies if v is not None and math.isfinite(v)]
        if not good and not accs:
            return
        self.losses.extend(good)
        self.accuracies.extend(accs)
        if len(self.losses) > MAX_POINTS:
            self.losses[:] = self.losses[::2]
        self._redraw()

    def _merged(self, history: list[tuple[float, float]], current: list[tuple[float, float]]
                ) -> list[tuple[float, float]]:
        start = current[0][0] if current else math.inf
        return [p for p in history if p[0] < start] + current

    def _redraw(self) -> None:
        losses = self._merged(self.history[0], self.losses)
        accuracies = self._merged(self.history[1], self.accuracies)
        if len(losses) > MAX_POINTS:
            losses = losses[:: math.ceil(len(losses) / MAX_POINTS)]
        self.loss_series.replace([QPointF(s, v) for s, v in losses])
        points = [QPointF(s, v) for s, v in accuracies]
        self.acc_series.replace(points)
        self.acc_marks.replace(points)
        self._update_axes()

    def _update_axes(self) -> None:
        losses = self._merged(self.history[0], self.losses)
        last = max([s for s, _ in losses] + [s for s, _ in self.accuracies] + [1.0])
        self.x_axis.setRange(0, max(float(self.total_steps), last, 1.0))
        if losses:
            values = [v for _, v in losses]
            low, high = min(values), max(values)
            pad = max((high - low) * 0.08, 0.05)
            self.loss_axis.setRange(max(0.0, low - pad), high + pad)
            self.loss_axis.applyNiceNumbers()  # round ticks: 0, 2, 4, ... rather than 0.49, 2.40, ...
        else:
            self.loss_axis.setRange(0, 1)
