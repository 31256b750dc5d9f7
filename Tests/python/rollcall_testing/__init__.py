"""Rollcall's Python test tooling: one helper for a process, a port, a wait, HTTP and the paths, shared by
the pytest modules beside this package (the chart, the images, the operator view, the fault suite, the
wire samples) and by scripts/chaos."""
