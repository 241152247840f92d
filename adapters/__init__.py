"""The outside world core needs, behind interfaces core defines; wired only by the composition root."""
