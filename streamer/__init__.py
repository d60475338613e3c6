"""Runtime layer: LSL acquisition, the monitor loop, the alert journal and the feed."""
