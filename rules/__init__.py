"""The policy engine: pure functions from facts to a decision with a trace."""
