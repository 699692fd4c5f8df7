"""Every domain's job handlers; importing this registers them all."""
