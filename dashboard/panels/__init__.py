"""The panels of the bed view (`dashboard.bed`), each one seam of the page.

`header` (the bed's name and the MONITORING banner), `controls` (page length,
sensitivity, display filter, Silence), `traces` (the EEG, the score strip and
the alert marks on one time axis), `alerts` (active alerts, acknowledgement,
the alerts of the night) and `trends` (the night trends tab). They share one
`timeaxis.TimeAxis`; each reads only `FeedClient.snapshot()` on the document's
thread.
"""
