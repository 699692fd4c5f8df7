"""Aggregate figures for admins and the NGO: what the platform does for children, by week."""
