"""The viz room: the dashboard frame, shared panels and static plots (plotly, ipywidgets).

Importing it registers the notebook progress bar with the core's training loop.
"""

import sys

# plotly's FigureWidget imports nbformat, which imports jsonschema, which imports
# rfc3987_syntax if installed (JupyterLab's jupyter-events brings it); that module builds a
# grammar at import: 1.5 s of every notebook's 30 s budget, measured on a 2-core CPU. A kernel
# never validates IRIs; None in sys.modules makes that optional import fail, so jsonschema skips
# its "iri" format check. Only if nothing imported it yet.
sys.modules.setdefault("rfc3987_syntax", None)

from hyperviz.progress import register_display  # noqa: E402
from hyperviz.viz.progress import WidgetProgress  # noqa: E402

register_display(WidgetProgress)
