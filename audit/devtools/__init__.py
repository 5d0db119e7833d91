"""Development tools: the demo data `make run` loads and the bench data `make bench` measures."""
