"""ccch-export: reports for the reporting chain and raw data exports, through ccch's hooks."""
