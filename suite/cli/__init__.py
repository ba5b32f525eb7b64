"""The command lines: python -m suite.cli.<name> (history, rebuild, merge_shards, env_ab, run_profile,
combine, gpu_setup).
"""
