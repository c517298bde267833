"""Example problem classes: copy one and change its workloads, space and objectives."""
