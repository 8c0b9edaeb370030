"""The Faust worker: the only code that imports faust, mode or aiokafka. The app factory,
the one pipeline sequence every agent runs, state adapters, the pipelines, and the Faust
patches we carry (runtime/faust/)."""
