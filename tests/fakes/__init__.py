"""Local fake HTTP servers (127.0.0.1 only) that follow the external platforms' documented contracts."""
