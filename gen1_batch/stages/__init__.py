"""Pipeline stages: `io` (decode and write, Ray tasks, no torch) and `models` (actor pools).

Import from the modules themselves, so a decode or write worker never imports torch.
"""
