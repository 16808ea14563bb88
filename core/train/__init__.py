"""The train stage: ``trainer.run(spec, components)`` → ``RunResult``, a pure function of
its spec that never touches the registry; ``pack`` trains runs of one shape as one
vmapped model."""
