"""fiveyear."""
