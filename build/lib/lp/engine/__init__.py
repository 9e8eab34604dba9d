"""Training engine: the loop (loop.py), schedules, batch sampling, evaluation and checkpoints.
There is no callback system: to add a periodic action, add an `if step % every == 0` block in
the loop."""
