"""Runtime layer: everything that moves samples and alerts in and out of the detector.

- `streamer.live`: LSL acquisition, the monitor loop, the alert journal, the feed server;
- `streamer.recordings`: recorded files in (one reader per family) and out (EDF+/BDF+);
- `streamer.offline`: the offline scan and the Dask archive;
- `streamer.notify`: alert notifications.
"""
