"""The report's figures, one module per family, each function drawing the info that
analysis.figure_data computed into a matplotlib Figure (not pyplot: no display, no global
figure state). `registry` pairs each figure with its info function, for the report."""
