"""The report layer: figures, comparisons and the HTML/Markdown report of a batch.

Plotting lives only here (the core ``sim`` modules never import matplotlib). Figures
are built on ``matplotlib.figure.Figure`` with the Agg canvas — never ``pyplot`` — so
no display and no global figure state are involved.
"""
