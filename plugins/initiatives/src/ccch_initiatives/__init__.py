"""ccch-initiatives: the CCHC initiative-writing contest (cuộc thi viết sáng kiến về CCHC)."""
