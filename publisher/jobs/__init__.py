"""Disc jobs: what goes on a disc (selections from the index), rules, scheduling."""
