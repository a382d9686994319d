"""``make demo``: the whole mesh on one machine, started, watched and stopped as one."""
