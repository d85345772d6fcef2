"""The review workflow: submit recommendations, decide them, turn approvals into partnerships."""
