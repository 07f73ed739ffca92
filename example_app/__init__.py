"""The example video pipeline: feature definitions, a runnable demo and (later) a web backend."""
