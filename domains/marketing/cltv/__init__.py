"""Customer lifetime value: a faust-streaming processor over orders and profiles."""
