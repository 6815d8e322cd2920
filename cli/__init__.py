"""The entry layer: argparse flags and attack-argument glue for main_grad.py and main_fed.py, and the
generator-training script (python -m fedprivacy.cli.train_generator)."""
