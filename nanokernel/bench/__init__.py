"""`nanokernel bench`: every workload measured next to its peers in the same run."""
