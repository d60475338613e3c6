"""Live monitoring: LSL acquisition, the monitor loop, the journal, the feed server."""
