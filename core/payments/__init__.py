"""The payment provider seam: the interface every provider adapter implements."""
