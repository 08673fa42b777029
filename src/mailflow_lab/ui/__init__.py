"""Widgets and plots for the course notebooks: the only place that imports ipywidgets or matplotlib."""
