"""The viz room: the dashboard frame, shared panels and static plots (plotly, ipywidgets).

Importing it registers the notebook progress bar with the core's training loop.
"""

from hyperviz.progress import register_display
from hyperviz.viz.progress import WidgetProgress

register_display(WidgetProgress)
