"""Rules about clinical talk shared by the persona engine and the grader (no vendor imports)."""
